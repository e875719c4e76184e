"""Faults a test scripts into the emulator, and the count of calls they are played on.

A fault waits in its endpoint's queue and is played on the next call: an errcode, a failed
HTTP answer, or a stall after which the call is served as usual. `refuse_content` instead
fails every message holding a marker until lifted, as an outage that hits one part of a
reply and not the one before. Calls are counted per endpoint, and per app when the call
names one (by its secret on gettoken, by one of its tokens elsewhere).

uvicorn serves the emulator in another thread than the test's, so state is behind a lock.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter, deque
from dataclasses import dataclass

from wecom_emulator.endpoints import ENDPOINTS
from wecom_emulator.errors import HttpFailure, Refused
from wecom_emulator.tokens import App


@dataclass(frozen=True)
class _Fault:
    errcode: int | None = None
    errmsg: str | None = None
    status: int | None = None
    stall_seconds: float = 0.0


class FaultScript:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, deque[_Fault]] = {endpoint: deque() for endpoint in ENDPOINTS}
        self._calls: Counter[tuple[str, App | None]] = Counter()
        self._refused_content: tuple[str, int] | None = None

    def fail_next(
        self, endpoint: str, errcode: int, *, times: int = 1, errmsg: str | None = None
    ) -> None:
        """The next `times` calls of `endpoint` (one of ENDPOINTS) answer this errcode, with
        WeCom's usual errmsg unless one is given."""
        self._queue(endpoint, _Fault(errcode=errcode, errmsg=errmsg), times)

    def fail_next_http(self, endpoint: str, status: int, *, times: int = 1) -> None:
        """The next `times` calls of `endpoint` get HTTP `status` and no JSON."""
        self._queue(endpoint, _Fault(status=status), times)

    def stall_next(self, endpoint: str, seconds: float, *, times: int = 1) -> None:
        """The next `times` calls wait `seconds`, then are served as usual: like WeCom, a
        message whose sender gave up waiting may still be delivered."""
        self._queue(endpoint, _Fault(stall_seconds=seconds), times)

    def refuse_content(self, marker: str | None, status: int = 503) -> None:
        """Until called again with None, a message containing `marker` gets HTTP `status` and
        is not delivered."""
        with self._lock:
            self._refused_content = None if marker is None else (marker, status)

    def calls(self, endpoint: str, app: App | None = None) -> int:
        """Every call of `endpoint` (one of ENDPOINTS), answered or not; with `app`, those
        that named that app."""
        with self._lock:
            if app is not None:
                return self._calls[endpoint, app]
            return sum(n for (name, _), n in self._calls.items() if name == endpoint)

    async def arrive(self, endpoint: str, app: App | None) -> None:
        """Counts the call and plays the fault scripted for it, if any: a fault that ends the
        call is raised as its answer."""
        with self._lock:
            self._calls[endpoint, app] += 1
            queue = self._faults[endpoint]
            fault = queue.popleft() if queue else None
        if fault is None:
            return
        if fault.stall_seconds:
            await asyncio.sleep(fault.stall_seconds)
        elif fault.status is not None:
            raise HttpFailure(fault.status)
        else:
            raise Refused(fault.errcode, fault.errmsg)

    def check_content(self, content: str) -> None:
        with self._lock:
            refused = self._refused_content
        if refused and refused[0] in content:
            raise HttpFailure(refused[1], "emulator: this content is refused")

    def _queue(self, endpoint: str, fault: _Fault, times: int) -> None:
        if endpoint not in self._faults:
            raise ValueError(f"unknown endpoint {endpoint!r}; use one of {ENDPOINTS}")
        with self._lock:
            self._faults[endpoint].extend([fault] * times)
