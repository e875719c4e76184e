"""6. gettoken calls: two service processes sharing one SQLite file under steady traffic.

WeCom's tokens live 7200 s and the gateway renews min(300 s, expires_in / 4) ahead, so one
window is 6900 s: far too long for a bench. The WeCom stand-in hands out tokens of 20 s
instead (renewed 5 s ahead: a window of 15 s) and traffic runs about 60 s, four windows. The
two processes share the token through the database's cache table; the baseline is the number
of windows the traffic spanned, which is what a single, perfectly shared cache would fetch.
"""

from __future__ import annotations

import math
from pathlib import Path

import uvloop

from bench import store_probe
from bench.load import CallbackMaker, paced
from bench.processes import WeComApp
from bench.report import Figure

EXPIRES_IN = 20
RENEWAL_MARGIN = min(300.0, EXPIRES_IN / 4)  # as HttpxWeComGateway computes it
WINDOW = EXPIRES_IN - RENEWAL_MARGIN
RATE, SECONDS = 10.0, 60
# Each member's next message comes 3 s after the last: within WeCom's 30 a minute.
MEMBERS = 30


def run(workdir: Path) -> list[Figure]:
    app = WeComApp()
    db = workdir / "shared.db"
    with (
        app.standin(workdir, expires_in=EXPIRES_IN) as wecom,
        app.service(workdir / "first", wecom.base_url, db) as first,
        app.service(workdir / "second", wecom.base_url, db) as second,
    ):
        callbacks = CallbackMaker(app).make(int(RATE * SECONDS), MEMBERS, tag="token")
        urls = [first.callback_url, second.callback_url]
        load = uvloop.run(paced(urls, callbacks, RATE))
        store_probe.wait_drained(db, timeout=120)
        stats = wecom.stats()
    arrivals = sorted(item["arrived"] for item in stats["sent"])
    if len(arrivals) != load.acked:
        raise AssertionError(f"{len(arrivals)} replies for {load.acked} acked callbacks")
    windows = math.floor((arrivals[-1] - arrivals[0]) / WINDOW) + 1
    calls = stats["gettoken_calls"]
    return [
        Figure(
            "6 tokens", f"gettoken calls, 2 processes, {arrivals[-1] - arrivals[0]:.0f} s",
            calls, windows, f"{WINDOW:.0f}-s windows spanned", "", "ratio ≤ 1", calls <= windows,
        )
    ]
