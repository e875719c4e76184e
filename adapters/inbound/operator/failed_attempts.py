"""Throttling guesses at the admin bearer token: per client address, past `max_failures`
wrong or missing tokens within `window_seconds`, the address is answered 429 until its window
ends, without its token being compared at all.

Kept per process, for at most `max_clients` addresses (the oldest windows are forgotten
first), so a flood from many addresses costs bounded memory. Behind a reverse proxy every
client has the proxy's address: one guesser then locks out everyone for a minute, which is
the price of not trusting a forwarded-for header anyone can write.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class FailedAttempts:
    def __init__(
        self,
        max_failures: int = 10,
        window_seconds: float = 60.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._max = max_failures
        self._window = window_seconds
        self._max_clients = max_clients
        self._clock = clock
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()  # client -> end, n

    def retry_after(self, client: str) -> float | None:
        """Seconds until `client` may try again; None when it may try now."""
        window = self._windows.get(client)
        if window is None:
            return None
        end, failures = window
        now = self._clock()
        if now >= end:
            del self._windows[client]
            return None
        return end - now if failures >= self._max else None

    def failed(self, client: str) -> None:
        now = self._clock()
        end, failures = self._windows.pop(client, (now + self._window, 0))
        if now >= end:
            end, failures = now + self._window, 0
        self._windows[client] = (end, failures + 1)
        while len(self._windows) > self._max_clients:
            self._windows.popitem(last=False)
