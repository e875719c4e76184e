"""A hand-written in-memory LeaseStore with the same contract as the SQL one."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection


class InMemoryLeaseStore:
    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self.leases: dict[str, tuple[str, float]] = {}

    async def acquire(self, name: str, owner: str, seconds: float) -> bool:
        now = self._clock()
        holder = self.leases.get(name)
        if holder and holder[0] != owner and holder[1] > now:
            return False
        self.leases[name] = (owner, now + seconds)
        return True

    async def renew(self, names: Collection[str], owner: str, seconds: float) -> int:
        held = [name for name in names if self.leases.get(name, ("", 0))[0] == owner]
        for name in held:
            self.leases[name] = (owner, self._clock() + seconds)
        return len(held)

    async def release(self, name: str, owner: str) -> None:
        if self.leases.get(name, ("", 0))[0] == owner:
            del self.leases[name]
