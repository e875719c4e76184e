"""6. gettoken calls: two service processes sharing one SQLite file under steady traffic.

WeCom's tokens live 7200 s, and gettoken hands out the same token until it has expired, so
the ideal is one fetch per token lifetime: far too long for a bench. The WeCom stand-in hands
out tokens of 20 s instead and traffic runs about 60 s, three or four lifetimes. The two
processes share the token through the database's cache table; the baseline is the number of
lifetimes the traffic spanned, which is what a single, perfectly shared cache would fetch.
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
    lifetimes = math.floor((arrivals[-1] - arrivals[0]) / EXPIRES_IN) + 1
    calls = stats["gettoken_calls"]
    return [
        Figure(
            "6 tokens", f"gettoken calls, 2 processes, {arrivals[-1] - arrivals[0]:.0f} s",
            calls, lifetimes, f"{EXPIRES_IN}-s token lifetimes spanned", "", "ratio ≤ 1",
            calls <= lifetimes,
        )
    ]
