"""How often one member may have the model answer: a sliding window per sender, as a pure rule
(the caller passes the times).

The model costs money per call, so each sender gets `messages` model calls per `per_seconds`.
Over that, the sender is told once (with when to try again) and further messages in the same
stretch are ignored quietly: a flood must not turn into a flood of notices either.

A message counts at the time it arrived, not when it is handled: after an outage, a backlog
handled in a rush is what the members sent at their own pace, and none of them may be told to
slow down for our delay. A member's private and group messages are handled in two queues,
so arrival times may come out of order: every window that holds a message's arrival is
checked, so the limit holds for messages handled up to a window's length out of order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from domain.policy import Ignore
from domain.sliding_window import WindowLog, wait_time

# Who was told to slow down is forgotten once that stretch is over, in a sweep whenever the
# map has doubled since the last one.
_MIN_SWEEP_SIZE = 1024


@dataclass(frozen=True)
class RateLimit:
    messages: int
    per_seconds: float

    @property
    def enabled(self) -> bool:
        return self.messages > 0 and self.per_seconds > 0


@dataclass(frozen=True)
class Admit:
    pass


@dataclass(frozen=True)
class SlowDown:
    """Tell the sender: at most `limit.messages` per `limit.per_seconds`, try again later."""

    limit: RateLimit
    retry_after_seconds: int


Verdict = Admit | SlowDown | Ignore


class SenderBudgets:
    """The budgets of every sender. Only the arrival times of admitted calls inside the
    window are kept, and for the few senders told to slow down, until when they were told."""

    def __init__(self, limit: RateLimit):
        self.limit = limit
        self._admitted = WindowLog(horizon=limit.per_seconds)
        self._told_until: dict[str, float] = {}
        self._told_sweep_at = _MIN_SWEEP_SIZE

    def check(self, sender: str, arrived_at: float) -> Verdict:
        """The verdict on one more model call for a message of `sender` that arrived at
        `arrived_at`; an admitted call is counted.

        What is forgotten is judged by arrival times too, not by the clock: during a backlog
        older than the window, the clock would forget the windows the backlog still needs."""
        if not self.limit.enabled:
            return Admit()
        admitted = self._admitted.recent(sender, arrived_at)
        wait = wait_time(admitted, self.limit.messages, self.limit.per_seconds, arrived_at)
        if not wait:
            self._admitted.record(sender, arrived_at, now=arrived_at)
            return Admit()
        if self._told_until.get(sender, -math.inf) > arrived_at:
            return Ignore("over the rate limit; the sender was already told to slow down")
        self._told_until[sender] = arrived_at + wait
        if len(self._told_until) >= self._told_sweep_at:
            self._forget_told(arrived_at)
        return SlowDown(self.limit, max(1, math.ceil(wait)))

    def tracked_senders(self) -> int:
        return len(self._admitted)

    def _forget_told(self, now: float) -> None:
        self._told_until = {s: until for s, until in self._told_until.items() if until > now}
        self._told_sweep_at = max(_MIN_SWEEP_SIZE, 2 * len(self._told_until))
