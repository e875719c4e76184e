"""The service's clock: the host's, or, for tests only, the host's shifted by
WEWORKTOP_CLOCK_OFFSET_SECONDS, to play a host whose clock is wrong (issue 17: instances whose
clocks disagree, a server whose clock is slow). Unset, nothing is shifted; set, start-up says
so loudly, as it must never be set in production."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

CLOCK_OFFSET_ENV = "WEWORKTOP_CLOCK_OFFSET_SECONDS"


def clock_offset(environ: Mapping[str, str]) -> float:
    """The offset in seconds the environment asks for; 0 when it asks for none."""
    raw = environ.get(CLOCK_OFFSET_ENV, "").strip()
    if not raw:
        return 0.0
    try:
        offset = float(raw)
    except ValueError:
        offset = math.nan
    if not math.isfinite(offset):
        raise ValueError(f"{CLOCK_OFFSET_ENV}: '{raw}' is not a number of seconds")
    return offset


def service_clock(offset: float) -> Callable[[], float]:
    """Epoch seconds as this service tells them."""
    if not offset:
        return time.time
    return lambda: time.time() + offset


def offset_warning(offset: float) -> str:
    direction = "ahead of" if offset > 0 else "behind"
    return (
        f"TEST ONLY: {CLOCK_OFFSET_ENV}={offset:g}: this service's clock runs "
        f"{abs(offset):g} s {direction} the host's. Never set it in production."
    )
