"""The retention job: once a day, the content of every event older than `retention_days` is
removed (domain.redaction), oldest first, in bounded batches, so a first run over years of
history neither holds a long transaction nor starves the callbacks. The facts stay, and so
do the usage totals, which are a table of their own.

One process at a time runs it (a lease); the others find the lease taken and skip that run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from application.ports.content_removal import ContentRemoval
from application.ports.shared_state import LeaseStore

log = logging.getLogger(__name__)

DAY_SECONDS = 86_400.0
LEASE = "retention"
# Long enough for one batch by far; renewed after each one.
LEASE_SECONDS = 300.0


class Retention:
    def __init__(
        self,
        store: ContentRemoval,
        leases: LeaseStore,
        owner: str,
        days: int,
        *,
        clock: Callable[[], float] = time.time,
        batch: int = 500,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self._store = store
        self._leases = leases
        self._owner = owner
        self._days = days
        self._clock = clock
        self._batch = batch
        self._sleep = sleep

    async def run_once(self) -> int:
        """Removes what has aged past the limit; returns how many events it went past."""
        if not await self._leases.acquire(LEASE, self._owner, LEASE_SECONDS):
            return 0
        cutoff = self._clock() - self._days * DAY_SECONDS
        looked = 0
        try:
            while done := await self._store.remove_content_before(cutoff, self._batch):
                looked += done
                await self._leases.acquire(LEASE, self._owner, LEASE_SECONDS)
                await self._sleep(0)  # callbacks get their turn between batches
        finally:
            await self._leases.release(LEASE, self._owner)
        if looked:
            log.info(
                "retention: content older than %d days removed (%d events looked at)",
                self._days, looked,
            )
        return looked

    async def run_daily(self) -> None:
        """Runs at start-up and then every day, until cancelled."""
        while True:
            try:
                await self.run_once()
            except Exception:
                # A database hiccup must not end the job: the next day's run catches up.
                log.exception("retention run failed; trying again in a day")
            await self._sleep(DAY_SECONDS)
