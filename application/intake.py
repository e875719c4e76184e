"""Accepting a callback message: record it durably, exactly once, then let a worker know."""

from __future__ import annotations

from application.ports import ConcurrencyConflict, EventStore, WorkNotifier
from domain.events import MessageReceived
from domain.messages import InboundMessage


class AcceptMessage:
    def __init__(self, store: EventStore, notifier: WorkNotifier):
        self._store = store
        self._notifier = notifier

    async def __call__(self, message: InboundMessage) -> bool:
        """True when the message is new; False for a retry or replay of one already taken."""
        received = MessageReceived(
            stream_id=message.dedup_key,
            version=1,
            conversation_id=message.conversation_id,
            message=message,
        )
        try:
            await self._store.append([received])
        except ConcurrencyConflict:
            return False
        self._notifier.notify(message.conversation_id)
        return True
