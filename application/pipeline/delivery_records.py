"""The store as delivery writes it: a part WeCom took is recorded, or held until it can be.

WeCom offers no idempotency key, so the record that WeCom took a part is all that keeps the
part from being sent again. When the store cannot write it (a database restarting, a full
disk), the append is retried for a few seconds; if the store stays unavailable the fact is
held here, in this process's memory, and the message stays queued. The next time the message
is delivered its held facts are recorded first (and while they cannot be, nothing is sent),
so a part is never sent again for a store outage: only a crash of this process in that
window can repeat it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from application.ports.event_store import ConcurrencyConflict, EventStore, StoreUnavailable
from domain.events import Event, ReplyPartSent
from domain.message_progress import MessageProgress

# How long an append is retried before its facts are held instead (a worker waits that long).
RETRY_SECONDS = 3.0


class DeliveryRecords:
    def __init__(self, store: EventStore, retry_seconds: float = RETRY_SECONDS):
        self._store = store
        self._retry_seconds = retry_seconds
        # Parts WeCom took whose record failed: by stream id, each part's index and WeCom id.
        self._held: dict[str, dict[int, str]] = {}

    def held(self, stream_id: str) -> dict[int, str]:
        return dict(self._held.get(stream_id, {}))

    async def append(self, events: Sequence[Event]) -> None:
        """Appends like the store; a ReplyPartSent the store could not write is held (and
        StoreUnavailable raised)."""
        try:
            await self._retrying(events)
        except StoreUnavailable:
            for event in events:
                if isinstance(event, ReplyPartSent):
                    self._held.setdefault(event.stream_id, {})[event.index] = event.wecom_msg_id
            raise

    async def read_stream(self, stream_id: str) -> list[Event]:
        return await self._store.read_stream(stream_id)

    async def settle(self, progress: MessageProgress) -> MessageProgress:
        """The message's progress with its held facts recorded first. Raises StoreUnavailable
        while they cannot be: the message waits, nothing is sent."""
        stream_id = progress.received.stream_id
        held = self._held.get(stream_id)
        while held:
            missing = {i: msg_id for i, msg_id in held.items() if i not in progress.sent_parts}
            if not missing:
                break
            recorded = [
                progress.record(ReplyPartSent, index=index, wecom_msg_id=msg_id)
                for index, msg_id in sorted(missing.items())
            ]
            try:
                await self._retrying(recorded)
                break
            except ConcurrencyConflict:
                # Another write landed first (a rating; or the failed append had committed
                # after all): read again and record only what is still missing.
                progress = MessageProgress.from_events(await self._store.read_stream(stream_id))
        self._held.pop(stream_id, None)
        return progress

    async def _retrying(self, events: Sequence[Event]) -> None:
        # A plain loop: the application layer uses no retry library (import-linter's contract).
        give_up_at = time.monotonic() + self._retry_seconds
        wait = 0.05
        while True:
            try:
                await self._store.append(events)
                return
            except StoreUnavailable:
                if time.monotonic() + wait > give_up_at:
                    raise
            await asyncio.sleep(wait)
            wait = min(wait * 2, 1.0)
