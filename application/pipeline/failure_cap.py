"""Giving up on a message that keeps failing in ways nobody foresaw.

Every adapter turns its library's errors into its port's, and the use cases record an outcome
for each (a notice, DeliveryPostponed, DeliveryFailed). An error that still escapes is a bug
met by some input: retried for ever, it would hold the rest of its conversation back, fill the
log with the same traceback every sweep and, for a picture, buy it again on every try. So after
`max_failures` such failures the message is settled with the reason recorded: DeliveryFailed
once its reply is composed, MessageIgnored before that.

A failure while the store does not answer, or that is the store's StoreUnavailable (a full
disk still answers reads), is the store's, not the message's, and is not counted. Counts are
kept per process, so with N processes a message gets at most N times the attempts.
"""

from __future__ import annotations

import logging
import sys

from application.ports.event_store import ConcurrencyConflict, EventStore, StoreUnavailable
from domain.events import DeliveryFailed, MessageIgnored
from domain.message_progress import MessageProgress

log = logging.getLogger(__name__)


class FailureCap:
    def __init__(self, store: EventStore, max_failures: int):
        if max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        self._store = store
        self._max = max_failures
        self._counts: dict[str, int] = {}

    def succeeded(self, stream_id: str) -> None:
        self._counts.pop(stream_id, None)

    async def failed(self, stream_id: str) -> bool:
        """Call from an `except` block. True when the message was given up (it is settled now,
        so its conversation can go on); False when it stays queued for another try."""
        if isinstance(sys.exc_info()[1], StoreUnavailable) or not await self._store_answers():
            log.warning(
                "handling %s failed while the store is unavailable (%s); it stays queued",
                stream_id, sys.exc_info()[1],
                extra={"repeat_key": ("handling failed", "store unavailable")},
            )
            return False
        count = self._counts.get(stream_id, 0) + 1
        if count < self._max:
            self._counts[stream_id] = count
            log.exception("handling %s failed (attempt %d of %d); it stays queued",
                          stream_id, count, self._max)
            return False
        self._counts.pop(stream_id, None)
        log.exception("handling %s failed %d times; giving it up", stream_id, count)
        try:
            return await self._give_up(stream_id, f"handling failed {count} times; given up")
        except Exception:
            log.exception("could not record giving up %s; it stays queued", stream_id)
            return False

    async def _store_answers(self) -> bool:
        try:
            await self._store.ping()
        except Exception:
            return False
        return True

    async def _give_up(self, stream_id: str, reason: str) -> bool:
        progress = MessageProgress.from_events(await self._store.read_stream(stream_id))
        if progress.received is None or progress.settled:
            return True
        if progress.reply is not None:
            unsent = progress.unsent_parts()
            index = unsent[0][0] if unsent else 0
            settled = progress.record(DeliveryFailed, index=index, reason=reason)
        else:
            settled = progress.record(MessageIgnored, reason=reason)
        try:
            await self._store.append([settled])
        except ConcurrencyConflict:
            return False  # written to meanwhile: the next look decides afresh
        return True
