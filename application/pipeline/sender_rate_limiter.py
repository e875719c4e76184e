"""Each sender's model-call budget, kept in this process's memory.

With several processes, each keeps its own budgets, so a sender may get up to `messages` x
the number of processes; that still bounds the bill, and a shared budget would cost a
database round trip on every message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from domain.rate_limit import Admit, RateLimit, SenderBudget, SlowDown, Verdict

log = logging.getLogger(__name__)

# Budgets with nothing to remember are dropped in a sweep whenever the map has doubled since
# the last one, so members who went quiet cost nothing for long, however many there are.
_MIN_SWEEP_SIZE = 1024


class SenderRateLimiter:
    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic):
        self._limit = limit
        self._clock = clock
        self._budgets: dict[str, SenderBudget] = {}
        self._sweep_at = _MIN_SWEEP_SIZE

    @classmethod
    def unlimited(cls) -> SenderRateLimiter:
        return cls(RateLimit(messages=0, per_seconds=0))

    def check(self, sender: str) -> Verdict:
        """The verdict on one more model call for `sender`, counted if admitted."""
        if not self._limit.enabled:
            return Admit()
        now = self._clock()
        budget = self._budgets.setdefault(sender, SenderBudget(self._limit))
        verdict = budget.check(now)
        if isinstance(verdict, SlowDown):
            log.info(
                "%s is over the rate limit; told to wait %ds",
                sender, verdict.retry_after_seconds,
            )
        if len(self._budgets) >= self._sweep_at:
            self._sweep(now)
        return verdict

    def tracked_senders(self) -> int:
        return len(self._budgets)

    def _sweep(self, now: float) -> None:
        self._budgets = {
            sender: budget for sender, budget in self._budgets.items() if not budget.is_idle(now)
        }
        self._sweep_at = max(_MIN_SWEEP_SIZE, 2 * len(self._budgets))
