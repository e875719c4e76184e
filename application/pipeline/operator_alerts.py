"""Telling the operator, once per cause, what only they can fix.

When WeCom refuses every reply for the same reason (an untrusted IP, a wrong secret), one
clear line with the advice helps; a thousand identical lines bury it. Each cause is logged
in full the first time, then summarised at most every `quiet_seconds`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("weworktop.operator")


class OperatorAlerts:
    def __init__(self, quiet_seconds: float = 600.0, clock: Callable[[], float] = time.monotonic):
        self._quiet = quiet_seconds
        self._clock = clock
        self._last_logged: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def delivery_refused(self, cause: str, advice: str) -> None:
        now = self._clock()
        last = self._last_logged.get(cause)
        if last is not None and now - last < self._quiet:
            self._suppressed[cause] = self._suppressed.get(cause, 0) + 1
            return
        repeats = self._suppressed.pop(cause, 0)
        since = f" ({repeats} more replies refused for this cause since last reported)"
        log.error(
            "ACTION NEEDED: WeCom refused a reply (%s): %s%s",
            cause, advice, since if repeats else "",
        )
        self._last_logged[cause] = now
