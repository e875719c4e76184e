"""Pacing messages to each member within WeCom's limits (30 a minute, 1000 an hour per app
and member). WeCom silently drops what goes beyond, so waiting is the only way to deliver.

The windows live in this process. A member's messages are sent by whichever process holds the
conversation's lease, so a member is normally paced by one process; after a lease moves, the
new holder starts with an empty window (a short burst over the limit is then possible).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from domain.sliding_window import SlidingWindow

WECOM_LIMITS = ((30, 60.0), (1000, 3600.0))
_MIN_SWEEP_SIZE = 1024


class SendPacer:
    def __init__(
        self,
        limits: tuple[tuple[int, float], ...] = WECOM_LIMITS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        self._windows: dict[str, list[SlidingWindow]] = {}
        self._sweep_at = _MIN_SWEEP_SIZE

    async def wait_turn(self, recipient: str) -> None:
        windows = self._windows.setdefault(
            recipient, [SlidingWindow(limit, seconds) for limit, seconds in self._limits]
        )
        while wait := max(window.wait_time(self._clock()) for window in windows):
            await self._sleep(wait)
        now = self._clock()
        for window in windows:
            window.record(now)
        self._forget_idle(now)

    def tracked_members(self) -> int:
        return len(self._windows)

    def _forget_idle(self, now: float) -> None:
        # Members who have had no message for an hour need no window, so memory stays bounded;
        # sweeping only when the map has doubled keeps the cost per send constant on average.
        if len(self._windows) < self._sweep_at:
            return
        self._windows = {
            recipient: windows
            for recipient, windows in self._windows.items()
            if not all(window.is_empty(now) for window in windows)
        }
        self._sweep_at = max(_MIN_SWEEP_SIZE, 2 * len(self._windows))
