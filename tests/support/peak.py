"""Running one call in a fresh process and measuring it: how long it took and how far the
process's peak memory (RSS, what the system counts, C libraries' allocations included) rose
above what it held just before the call (Linux: /proc/self/status)."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Measured:
    outcome: Any  # what `summary` made of the result, or ("error", type, problem)
    seconds: float
    peak_mb: float  # the peak during the call, above what the process held before it


def measured(call: Callable[..., Any], *args: Any) -> Measured:
    """`call(*args)` (a module-level function, run in a new process)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(_measure, (call, *args))


def _measure(call: Callable[..., Any], *args: Any) -> Measured:
    before = _status_kb("VmRSS")
    started = time.perf_counter()
    try:
        outcome = call(*args)
    except Exception as err:  # carried back as plain data: not every error pickles
        outcome = ("error", type(err).__name__, getattr(err, "problem", str(err)))
    seconds = time.perf_counter() - started
    return Measured(outcome, seconds, (_status_kb("VmHWM") - before) / 1024)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)
