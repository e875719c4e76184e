"""Noticing that this server's clock, not a replay, is why WeCom's callbacks are refused.

A callback whose timestamp is further from our clock than callback_max_skew_seconds is refused
(403), as it may be a replay, and that stays so. But when correctly signed callbacks are
refused one after another, each off by about the same amount in the same direction, with none
accepted between them, the likelier story is a wrong clock here, and every message is being
lost until someone sets it right. The log then says so once, as ACTION NEEDED, and /readyz
says so (not ready: callbacks are refused) until a callback is accepted again, or this
server's clock has stepped toward WeCom's by at least half the difference.

Only callbacks whose signature verified are counted, so without the Token nobody can raise
this. Replays of captured callbacks could, if several were captured within SAME_AMOUNT_SECONDS
of each other; the next callback WeCom sends clears it (SECURITY.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

# This many different signed callbacks refused within WINDOW_SECONDS make a pattern...
PATTERN_COUNT = 3
WINDOW_SECONDS = 300.0
# ...when their offsets from our clock differ by no more than this: WeCom stamps each
# callback with its own clock's time, so a wrong clock here shows as one steady offset.
SAME_AMOUNT_SECONDS = 30.0
# The newest refusals kept to judge by, so that a flood of them costs no more memory.
KEPT = 16


@dataclass(frozen=True)
class ClockSkew:
    seconds: float  # WeCom's timestamps minus this server's clock: > 0, this server is behind

    def describe(self) -> str:
        direction = "behind" if self.seconds > 0 else "ahead of"
        return f"this server's clock is {abs(self.seconds):.0f} s {direction} WeCom's"


class ClockSkewWatch:
    """One per process: every channel's callbacks are judged by the same clock. `clock` is
    that clock (the service's); `monotonic` tells when it has been stepped."""

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self._clock = clock
        self._monotonic = monotonic
        # Signed callbacks refused since the last accepted one: signature -> (when, offset).
        self._refused: dict[str, tuple[float, float]] = {}
        self._skew: ClockSkew | None = None
        self._clock_at_alarm = 0.0  # the clock minus the monotonic clock when it was raised

    def refused(self, signature: str, offset: float) -> None:
        """A callback whose signature verified was refused for its timestamp, `offset`
        seconds from our clock (its timestamp minus our time)."""
        if self.current() is not None:
            self._skew = ClockSkew(offset)  # still wrong: show the latest amount
            return
        now = self._monotonic()
        self._refused = {
            key: seen for key, seen in self._refused.items() if now - seen[0] <= WINDOW_SECONDS
        }
        self._refused[signature] = (now, offset)
        while len(self._refused) > KEPT:
            del self._refused[next(iter(self._refused))]
        if self._is_pattern():
            self._skew = ClockSkew(offset)
            self._clock_at_alarm = self._clock() - now
            log.error(
                "ACTION NEEDED: %s; WeCom's callbacks are refused (403) and lost until this "
                "server's clock is set right (NTP)",
                self._skew.describe(),
            )

    def accepted(self) -> None:
        """A callback whose signature verified was within the allowed skew."""
        self._refused.clear()
        if self._skew is not None:
            self._clear("a callback was accepted")

    def current(self) -> ClockSkew | None:
        """The skew being reported, if any."""
        if self._skew is not None and self._stepped_back_in_line():
            self._clear("this server's clock was stepped toward WeCom's")
        return self._skew

    def _is_pattern(self) -> bool:
        offsets = [offset for _, offset in self._refused.values()]
        return (
            len(offsets) >= PATTERN_COUNT
            and (all(o > 0 for o in offsets) or all(o < 0 for o in offsets))
            and max(offsets) - min(offsets) <= SAME_AMOUNT_SECONDS
        )

    def _stepped_back_in_line(self) -> bool:
        stepped = (self._clock() - self._monotonic()) - self._clock_at_alarm
        skew = self._skew.seconds
        return stepped * skew > 0 and abs(stepped) >= abs(skew) / 2

    def _clear(self, why: str) -> None:
        log.warning("clock skew resolved (it was: %s): %s", self._skew.describe(), why)
        self._skew = None
        self._refused.clear()
