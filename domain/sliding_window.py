"""A sliding-window count of recent actions, for limits such as WeCom's 30 messages a minute
to one member. Pure: the caller passes the time."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class SlidingWindow:
    limit: int
    seconds: float
    _times: deque[float] = field(default_factory=deque)

    def wait_time(self, now: float) -> float:
        """Seconds until one more action fits (0 when it fits now)."""
        self._forget_before(now - self.seconds)
        if len(self._times) < self.limit:
            return 0.0
        return self._times[0] + self.seconds - now

    def record(self, now: float) -> None:
        self._times.append(now)

    def is_empty(self, now: float) -> bool:
        self._forget_before(now - self.seconds)
        return not self._times

    def _forget_before(self, cutoff: float) -> None:
        while self._times and self._times[0] <= cutoff:
            self._times.popleft()
