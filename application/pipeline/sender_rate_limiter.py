"""Each sender's model-call budget, kept in this process's memory.

With several processes, each keeps its own budgets, so a sender may get up to `messages` x
the number of processes; that still bounds the bill, and a shared budget would cost a
database round trip on every message.
"""

from __future__ import annotations

import logging

from domain.rate_limit import RateLimit, SenderBudgets, SlowDown, Verdict

log = logging.getLogger(__name__)


class SenderRateLimiter:
    def __init__(self, limit: RateLimit):
        self._budgets = SenderBudgets(limit)

    @classmethod
    def unlimited(cls) -> SenderRateLimiter:
        return cls(RateLimit(messages=0, per_seconds=0))

    def check(self, sender: str, arrived_at: float) -> Verdict:
        """The verdict on one more model call for `sender`'s message that arrived at
        `arrived_at` (epoch seconds), counted if admitted."""
        verdict = self._budgets.check(sender, arrived_at)
        if isinstance(verdict, SlowDown):
            log.info(
                "%s is over the rate limit; told to wait %ds",
                sender, verdict.retry_after_seconds,
            )
        return verdict

    def tracked_senders(self) -> int:
        return self._budgets.tracked_senders()
