"""The scheduler's worker slots, and lending one out while its holder only waits.

A slot bounds how many conversations are being *handled* at once (reading the store, deciding,
composing, delivering). A handler that waits on something slow and outside the process (a
model that takes seconds to answer) gives its slot back for the wait and takes one again
after it, so a thousand members waiting on the model do not keep the sixteenth-and-later
conversations from being handled. How many calls the model takes at once is the model
adapter's own bound (`llm.max_concurrency`), not the number of slots.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar


class _Slot:
    """One held slot of a semaphore; knows whether it is held, so that a cancellation
    between giving it back and taking it again never gives it back twice."""

    def __init__(self, slots: asyncio.Semaphore):
        self._slots = slots
        self._held = False

    async def take(self) -> None:
        await self._slots.acquire()
        self._held = True

    def give_back(self) -> None:
        if self._held:
            self._held = False
            self._slots.release()


_current: ContextVar[_Slot | None] = ContextVar("worker_slot", default=None)


class WorkerSlots:
    def __init__(self, count: int):
        self._slots = asyncio.Semaphore(count)

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """A slot for the enclosed handling; `lent()` inside it may lend it out."""
        slot = _Slot(self._slots)
        await slot.take()
        token = _current.set(slot)
        try:
            yield
        finally:
            _current.reset(token)
            slot.give_back()


@asynccontextmanager
async def lent() -> AsyncIterator[None]:
    """Gives the current task's slot back for the enclosed wait, and waits for one again
    after it. Outside a scheduler's handling (tests, the sandbox) there is nothing to lend."""
    slot = _current.get()
    if slot is None:
        yield
        return
    slot.give_back()
    try:
        yield
    finally:
        await slot.take()
