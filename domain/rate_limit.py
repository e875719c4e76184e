"""How often one member may have the model answer: a sliding window per sender, as a pure rule
(the caller passes the time).

The model costs money per call, so each sender gets `messages` model calls per `per_seconds`.
Over that, the sender is told once (with when to try again) and further messages in the same
stretch are ignored quietly: a flood must not turn into a flood of notices either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from domain.policy import Ignore
from domain.sliding_window import SlidingWindow


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


@dataclass
class SenderBudget:
    limit: RateLimit
    told_until: float = 0.0
    _window: SlidingWindow = field(init=False)

    def __post_init__(self) -> None:
        self._window = SlidingWindow(self.limit.messages, self.limit.per_seconds)

    def check(self, now: float) -> Verdict:
        """The verdict on one more model call at `now`; an admitted call is counted."""
        if not self.limit.enabled:
            return Admit()
        wait = self._window.wait_time(now)
        if not wait:
            self._window.record(now)
            return Admit()
        if self.told_until > now:
            return Ignore("over the rate limit; the sender was already told to slow down")
        self.told_until = now + wait
        return SlowDown(self.limit, max(1, math.ceil(wait)))

    def is_idle(self, now: float) -> bool:
        """Nothing to remember: no call inside the window and nobody waiting to be told."""
        return self._window.is_empty(now) and self.told_until <= now
