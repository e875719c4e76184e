"""A bounded pool of workers over conversations: one conversation strictly in order,
different conversations in parallel, and across processes one owner per conversation.

The store is the queue: a worker asked to look at a conversation takes the conversation's
lease, handles its unsettled messages oldest first (and those it is told of meanwhile), and
lets the lease go. While a handler waits on the model it lends its worker slot out (see
worker_slots): workers bound the pipeline's own work, the model adapter its calls.
A sweep looks at every conversation with unsettled messages now and then, so work left by a
process that died (its leases run out), or accepted by one process while another held the
lease, is never stranded.

A conversation whose message waits for a retry (Postponed) has one timer for that time, and
the sweep leaves it alone until then: otherwise every postponed conversation would be handled,
leased and given a new timer on every sweep. A message whose handling keeps failing
unexpectedly is given up after a few tries (FailureCap).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from application.pipeline.failure_cap import FailureCap
from application.pipeline.log_context import current_message
from application.pipeline.postponed import Postponed
from application.pipeline.worker_slots import WorkerSlots
from application.ports.event_store import EventStore, StoreUnavailable
from application.ports.shared_state import LeaseStore
from application.ports.telemetry import Telemetry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchedulerSettings:
    # Conversations handled at once; one waiting on the model lends its slot out (see
    # worker_slots), so this bounds the pipeline's own work, not the model calls.
    workers: int = 16
    lease_seconds: float = 30.0
    sweep_seconds: float = 2.0
    shutdown_grace_seconds: float = 10.0
    # Conversations with a task (running or waiting for a worker). Beyond it, new work stays
    # in the store's pending list until a sweep, so a flood costs rows, not memory.
    max_tasks: int = 1024
    # Unexpected failures of one message before it is given up (see FailureCap).
    max_failures: int = 3


class ConversationScheduler:
    def __init__(
        self,
        store: EventStore,
        handle: Callable[[str], Awaitable[Postponed | None]],
        leases: LeaseStore,
        owner: str,
        settings: SchedulerSettings,
        clock: Callable[[], float] = time.time,
        telemetry: Telemetry | None = None,
    ):
        self._telemetry = telemetry
        self._store = store
        self._handle = handle
        self._leases = leases
        self._owner = owner
        self._settings = settings
        self._clock = clock
        self._slots = WorkerSlots(settings.workers)
        self._active: dict[str, asyncio.Task[None]] = {}
        # Conversations notified while their worker was already busy: look once more.
        self._again: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        # The conversation leases this process holds: renewed together (see _renew_forever).
        self._held: set[str] = set()
        self._closing = False
        # Postponed conversations: when they are due, and the one timer that wakes each.
        self._wakes: dict[str, tuple[float, asyncio.TimerHandle]] = {}
        self._failures = FailureCap(store, settings.max_failures)

    def notify(self, conversation_id: str) -> None:
        if self._closing:
            return
        if conversation_id in self._active:
            self._again.add(conversation_id)
            return
        if len(self._active) >= self._settings.max_tasks:
            return
        task = asyncio.create_task(self._drain(conversation_id))
        self._active[conversation_id] = task
        task.add_done_callback(lambda _: self._active.pop(conversation_id, None))

    async def resume_pending(self, *, waiting_too: bool = False) -> int:
        """Look at every conversation that has unsettled messages; returns how many. With
        `waiting_too`, also those postponed to a later time: what they waited for may be back
        (an AI bot's long connection), and each postponement still stands where it was for
        another reason."""
        pending = await self._store.pending()
        if self._telemetry is not None:
            self._telemetry.pending_messages(len(pending))
        conversations = {item.conversation_id for item in pending}
        now = self._clock()
        for conversation_id in conversations:
            # A conversation being handled is not stranded: marking it to be looked at again
            # would cost it one more read of its pending list (its handler looks again when
            # it is told of a new message here; the next sweep sees what others accepted).
            if conversation_id in self._active:
                continue
            wake = self._wakes.get(conversation_id)
            if waiting_too or wake is None or wake[0] <= now:
                self.notify(conversation_id)
        return len(conversations)

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever())
        self._renewer = asyncio.create_task(self._renew_forever())

    async def idle(self) -> None:
        """Wait until no conversation has a worker (for tests)."""
        while self._active:
            await asyncio.gather(*self._active.values(), return_exceptions=True)

    async def close(self) -> None:
        """Stop taking work, let running handlers finish within the grace period, and hand
        back the rest: it stays unsettled in the store, its leases are released."""
        self._closing = True
        for task in (self._sweeper, self._renewer):
            if task:
                task.cancel()
        for _, timer in self._wakes.values():
            timer.cancel()
        self._wakes.clear()
        running = list(self._active.values())
        if running:
            _, unfinished = await asyncio.wait(
                running, timeout=self._settings.shutdown_grace_seconds
            )
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            if unfinished:
                log.info("handed back %d conversations at shutdown", len(unfinished))

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.sweep_seconds)
            try:
                await self.resume_pending()
            except Exception:
                log.exception("sweep for unsettled messages failed; trying again")

    async def _drain(self, conversation_id: str) -> None:
        lease = f"conversation:{conversation_id}"
        async with self._slots.held():
            try:
                taken = await self._leases.acquire(lease, self._owner, self._settings.lease_seconds)
            except Exception:
                # The store is down, most likely: the message stays pending for the next sweep.
                log.warning(
                    "could not take the lease of a conversation; the sweep tries again",
                    exc_info=True,
                    extra={"repeat_key": ("lease acquire failed",)},
                )
                return
            if not taken:
                return  # another process is on it; the sweep looks again later
            self._held.add(lease)
            try:
                await self._handle_in_order(conversation_id)
            except StoreUnavailable as err:
                # Its messages stay pending in the store; the sweep looks again.
                log.warning(
                    "a conversation waits for the store (%s)", err,
                    extra={"repeat_key": ("conversation waits", "store unavailable")},
                )
            finally:
                self._held.discard(lease)
                await asyncio.shield(self._release(lease))

    async def _handle_in_order(self, conversation_id: str) -> None:
        while True:
            self._again.discard(conversation_id)
            pending = await self._store.pending(conversation_id)
            for item in pending:
                current_message.set(item.stream_id)
                try:
                    outcome = await self._handle(item.stream_id)
                except Exception:
                    # Unless given up, the message stays unsettled in the store and is tried
                    # again by the next sweep; later messages of the conversation must not
                    # jump it.
                    if await self._failures.failed(item.stream_id):
                        continue
                    return
                self._failures.succeeded(item.stream_id)
                if isinstance(outcome, Postponed):
                    self._wake_at(conversation_id, outcome.until)
                    return
            # Read again only when told of a new message meanwhile: a message accepted here
            # notifies, one accepted by another process is the sweep's. Reading again anyway
            # would cost every answered conversation one more store round trip.
            if conversation_id not in self._again:
                self._forget_wake(conversation_id)
                return

    def _wake_at(self, conversation_id: str, until: float) -> None:
        self._forget_wake(conversation_id)
        delay = max(0.0, until - self._clock())
        timer = asyncio.get_running_loop().call_later(delay, self._wake, conversation_id)
        self._wakes[conversation_id] = (until, timer)

    def _wake(self, conversation_id: str) -> None:
        self._wakes.pop(conversation_id, None)
        self.notify(conversation_id)

    def _forget_wake(self, conversation_id: str) -> None:
        wake = self._wakes.pop(conversation_id, None)
        if wake is not None:
            wake[1].cancel()

    async def _renew_forever(self) -> None:
        """Every held lease renewed in one statement a third of a lease's length apart: a
        burst of a thousand members waiting on the model is one write, not a thousand."""
        while True:
            await asyncio.sleep(self._settings.lease_seconds / 3)
            held = list(self._held)
            try:
                kept = await self._leases.renew(held, self._owner, self._settings.lease_seconds)
            except Exception:
                log.exception("could not renew %d conversation leases; trying again", len(held))
                continue
            # Leases let go meanwhile are not counted as lost: only those still held.
            lost = len(self._held.intersection(held)) - kept
            if lost > 0:
                log.error("lost %d conversation leases to other processes", lost)

    async def _release(self, lease: str) -> None:
        try:
            await self._leases.release(lease, self._owner)
        except Exception:
            log.exception("could not release %s; it expires by itself", lease)
