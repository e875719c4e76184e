"""Accepting a callback message: record it durably, exactly once, then let a worker know."""

from __future__ import annotations

from application.ports.event_store import ConcurrencyConflict, EventStore
from application.ports.work_queue import WorkNotifier
from domain.events import MessageReceived
from domain.messages import GROUP_MEMORY_SHARED, InboundMessage


class AcceptMessage:
    def __init__(
        self, store: EventStore, notifier: WorkNotifier, group_memory: str = GROUP_MEMORY_SHARED
    ):
        self._store = store
        self._notifier = notifier
        self._group_memory = group_memory

    async def __call__(self, message: InboundMessage) -> bool:
        """True when the message is new; False for a retry or replay of one already taken."""
        conversation_id = message.conversation_key(self._group_memory)
        received = MessageReceived(
            stream_id=message.dedup_key,
            version=1,
            conversation_id=conversation_id,
            message=message,
        )
        try:
            await self._store.append([received])
        except ConcurrencyConflict:
            return False
        self._notifier.notify(conversation_id)
        return True
