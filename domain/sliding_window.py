"""Sliding-window limits such as WeCom's 30 messages a minute to one member, for many members
at once and in little memory. Pure: the caller passes the times.

A member's recent times are kept as a bare float while there is one (most members, most of
the time) and as an array of doubles beyond that: a deque would cost 760 bytes per member
even with a single time in it, and a service that has heard from ten thousand members
keeps a window for each of them for the window's length.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right, insort
from collections.abc import Sequence

# Keys whose times have all left the horizon are dropped in a sweep whenever the map has
# doubled since the last one, so the cost per call stays constant on average.
_MIN_SWEEP_SIZE = 1024


class WindowLog:
    """Per key, the times of recent actions (those after `now - horizon`), oldest first.
    Times may be recorded out of order (arrival times of messages handled out of order)."""

    def __init__(self, horizon: float):
        self._horizon = horizon
        self._times: dict[str, float | array[float]] = {}
        self._sweep_at = _MIN_SWEEP_SIZE

    def recent(self, key: str, now: float) -> Sequence[float]:
        """The key's times after `now - horizon` (later ones included), oldest first."""
        times = self._times.get(key)
        if times is None:
            return ()
        cutoff = now - self._horizon
        if isinstance(times, float):
            if times > cutoff:
                return (times,)
            del self._times[key]
            return ()
        del times[: bisect_right(times, cutoff)]
        if not times:
            del self._times[key]
        return times

    def record(self, key: str, at: float, now: float) -> None:
        times = self._times.get(key)
        if times is None:
            self._times[key] = float(at)
        elif isinstance(times, float):
            self._times[key] = array("d", sorted((times, at)))
        else:
            insort(times, at)
        if len(self._times) >= self._sweep_at:
            self._forget_idle(now)

    def __len__(self) -> int:
        return len(self._times)

    def _forget_idle(self, now: float) -> None:
        cutoff = now - self._horizon
        self._times = {
            key: times for key, times in self._times.items() if _newest(times) > cutoff
        }
        self._sweep_at = max(_MIN_SWEEP_SIZE, 2 * len(self._times))


def _newest(times: float | array[float]) -> float:
    return times if isinstance(times, float) else times[-1]


def wait_time(times: Sequence[float], limit: int, seconds: float, at: float) -> float:
    """Seconds after `at` until one more action fits: 0 when it fits at `at`, that is when
    every window of `seconds` that holds `at` keeps at most `limit` actions with it.
    `times` is in order and may hold times after `at`."""
    if len(times) < limit:
        return 0.0
    # Each window that holds `at` ends at `at` or at one of the times after it.
    first_end = bisect_right(times, at)
    ends = [at, *times[first_end : bisect_right(times, at + seconds, lo=first_end)]]
    if all(_count(times, end - seconds, end) < limit for end in ends):
        return 0.0
    # From the moment the limit-th newest action leaves the window, one more always fits.
    return max(times[-limit] + seconds - at, 0.0)


def _count(times: Sequence[float], after: float, until: float) -> int:
    """How many of `times` lie in (after, until]."""
    return bisect_right(times, until) - bisect_right(times, after)
