"""Taking messages while the event store is unavailable, and handing them to it when it is back.

A callback's message that the store cannot record goes into the spool (on disk before the
200), and so does every message after it while the spool is not empty: none overtakes one
that waits. One task replays the spool into the store oldest first; a message the store
already holds (WeCom retried it before the outage was noticed) is a ConcurrencyConflict and
is simply dropped from the spool, so a retry never becomes a second message. Each replayed
message's conversation is then handled as usual.

What it saw of the store's writes (since when they fail, how many messages wait, whether the
spool itself refuses) is what /readyz reports: the same write path callbacks use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from application.ports.event_store import ConcurrencyConflict, EventStore, StoreUnavailable
from application.ports.message_spool import MessageSpool, SpoolRefused
from application.ports.work_queue import WorkNotifier
from domain.events import MessageReceived

log = logging.getLogger(__name__)

_BATCH = 256


@dataclass(frozen=True)
class IntakeState:
    spooled: int
    store_failing_since: float | None  # when the latest run of failed writes began
    spool_refusing: str | None  # why the spool refused the latest message it was given


class SpooledIntake:
    def __init__(
        self,
        store: EventStore,
        spool: MessageSpool,
        notifier: WorkNotifier,
        clock: Callable[[], float] = time.time,
        retry_seconds: tuple[float, float] = (0.2, 2.0),
    ):
        self._store = store
        self._spool = spool
        self._notifier = notifier
        self._clock = clock
        self._retry_first, self._retry_most = retry_seconds
        self._failing_since: float | None = None
        self._refusing: str | None = None
        self._wake = asyncio.Event()

    @property
    def holds_messages(self) -> bool:
        return self._spool.count > 0

    def state(self) -> IntakeState:
        return IntakeState(self._spool.count, self._failing_since, self._refusing)

    def store_wrote(self) -> None:
        if self._failing_since is not None and not self.holds_messages:
            self._recovered()

    def store_failed(self, err: StoreUnavailable) -> None:
        if self._failing_since is None:
            self._failing_since = self._clock()
            log.warning("the event store is unavailable (%s): messages go to the spool", err)

    async def keep(self, received: MessageReceived) -> bool:
        """Puts the message into the spool; False when it already waits there. Raises
        StoreUnavailable when the spool refuses it too (the callback answers 503)."""
        try:
            is_new = await self._spool.put(received)
        except SpoolRefused as err:
            if self._refusing is None:
                log.error("the spool refuses messages (%s): callbacks get 503", err)
            self._refusing = str(err)
            raise StoreUnavailable(f"store unavailable and {err}") from None
        self._refusing = None
        self._wake.set()
        return is_new

    async def run(self) -> None:
        """Replays the spool whenever it holds messages, until cancelled."""
        delay = self._retry_first
        while True:
            if not self.holds_messages:
                self._wake.clear()
                await self._wake.wait()
            try:
                await self._replay_oldest()
            except StoreUnavailable as err:
                self.store_failed(err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_most)
                continue
            except Exception:
                log.exception(
                    "replaying the spool failed; trying again",
                    extra={"repeat_key": ("spool replay failed",)},
                )
                await asyncio.sleep(self._retry_most)
                continue
            delay = self._retry_first

    async def _replay_oldest(self) -> None:
        # Conversations side by side, each one's messages in order: the replay gets more than
        # one connection's share of a store the workers are busy with.
        by_conversation: dict[str, list[tuple[int, MessageReceived]]] = {}
        for spool_id, received in await self._spool.oldest(_BATCH):
            by_conversation.setdefault(received.conversation_id, []).append((spool_id, received))
        outcomes = await asyncio.gather(
            *(self._replay_in_order(waiting) for waiting in by_conversation.values()),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        if not self.holds_messages and self._failing_since is not None:
            self._recovered()

    async def _replay_in_order(self, waiting: list[tuple[int, MessageReceived]]) -> None:
        for spool_id, received in waiting:
            # A conflict: the store has it already (a retry of a message recorded before).
            with contextlib.suppress(ConcurrencyConflict):
                await self._store.append([received])
            await self._spool.remove(spool_id)
            self._notifier.notify(received.conversation_id)

    def _recovered(self) -> None:
        took = self._clock() - (self._failing_since or self._clock())
        self._failing_since = None
        log.info("the event store records again after %.1fs; the spool is empty", took)
