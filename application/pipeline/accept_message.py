"""Accepting a callback message: record it durably, exactly once, then let a worker know.

While the event store is unavailable the message is kept in the spool instead (durably too),
and while the spool holds messages every new one goes behind them (SpooledIntake).
"""

from __future__ import annotations

from application.pipeline.spooled_intake import SpooledIntake
from application.ports.event_store import ConcurrencyConflict, EventStore, StoreUnavailable
from application.ports.work_queue import WorkNotifier
from domain.events import MessageReceived
from domain.messages import GROUP_MEMORY_SHARED, InboundMessage


class AcceptMessage:
    def __init__(
        self,
        store: EventStore,
        notifier: WorkNotifier,
        group_memory: str = GROUP_MEMORY_SHARED,
        intake: SpooledIntake | None = None,
    ):
        self._store = store
        self._notifier = notifier
        self._group_memory = group_memory
        self._intake = intake

    async def __call__(self, message: InboundMessage) -> bool:
        """True when the message is new; False for a retry or replay of one already taken.
        Raises StoreUnavailable when it could be kept nowhere."""
        conversation_id = message.conversation_key(self._group_memory)
        received = MessageReceived(
            stream_id=message.dedup_key,
            version=1,
            conversation_id=conversation_id,
            message=message,
        )
        intake = self._intake
        if intake is not None and intake.holds_messages:
            return await intake.keep(received)
        try:
            await self._store.append([received])
        except ConcurrencyConflict:
            return False
        except StoreUnavailable as err:
            if intake is None:
                raise
            intake.store_failed(err)
            return await intake.keep(received)
        if intake is not None:
            intake.store_wrote()
        self._notifier.notify(conversation_id)
        return True
