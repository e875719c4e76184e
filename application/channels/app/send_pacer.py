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

from domain.sliding_window import WindowLog, wait_time

WECOM_LIMITS = ((30, 60.0), (1000, 3600.0))


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
        # One log per member, as long as the longest window: every limit reads it.
        self._sent = WindowLog(horizon=max(seconds for _, seconds in limits))

    async def wait_turn(self, recipient: str) -> None:
        while wait := self._wait(recipient, self._clock()):
            await self._sleep(wait)
        now = self._clock()
        self._sent.record(recipient, now, now)

    def tracked_members(self) -> int:
        return len(self._sent)

    def _wait(self, recipient: str, now: float) -> float:
        sent = self._sent.recent(recipient, now)
        return max(wait_time(sent, limit, seconds, now) for limit, seconds in self._limits)
