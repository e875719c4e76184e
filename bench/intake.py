"""1. Callback intake: the real service against a bare endpoint under the same uvicorn.

Both get the same signed, encrypted, unique text callbacks at rising concurrency, bare first,
then ours, then a pause until the service has answered every message, so that one level's
replies do not eat into the next level's measurement. Replies go to a WeCom stand-in from the
offline echo model, as they would in production, while intake goes on.
"""

from __future__ import annotations

from pathlib import Path

import uvloop

from bench import store_probe
from bench.helper_apps import BARE_PATH
from bench.load import CallbackMaker, Load, closed_loop
from bench.processes import HelperServer, WeComApp
from bench.report import Figure

LEVELS = (1, 16, 64, 256)
# Enough callbacks per level for a stable p99, and a time limit that ends a slow level early.
CALLBACKS_PER_LEVEL = {1: 300, 16: 1500, 64: 2500, 256: 2500}
LEVEL_TIME_LIMIT = 8.0
WARM_UP = 200
# Replies cycle over this many members, so conversations run in parallel as in a company.
MEMBERS = 500
P99_TARGET_MS, P99_TARGET_LEVEL = 50.0, 64


def run(workdir: Path) -> list[Figure]:
    app = WeComApp()
    db = workdir / "intake.db"
    with (
        app.standin(workdir) as wecom,
        HelperServer("bare", workdir) as bare,
        app.service(workdir / "service", wecom.base_url, db) as service,
    ):
        return _measure(app, f"{bare.base_url}{BARE_PATH}", service.callback_url, db)


def _measure(app: WeComApp, bare_url: str, ours_url: str, db: Path) -> list[Figure]:
    maker = CallbackMaker(app)
    # A first pass fills the servers' caches and the SQLite file's first pages.
    uvloop.run(closed_loop(bare_url, maker.make(WARM_UP, MEMBERS), 16, LEVEL_TIME_LIMIT))
    warm = uvloop.run(closed_loop(ours_url, maker.make(WARM_UP, MEMBERS), 16, LEVEL_TIME_LIMIT))
    acked, sent = warm.acked, warm.sent
    store_probe.wait_drained(db, timeout=120)

    figures: list[Figure] = []
    late = {"ours": 0, "bare": 0}
    for level in LEVELS:
        callbacks = maker.make(CALLBACKS_PER_LEVEL[level], MEMBERS)
        bare = uvloop.run(closed_loop(bare_url, callbacks, level, LEVEL_TIME_LIMIT))
        ours = uvloop.run(closed_loop(ours_url, callbacks, level, LEVEL_TIME_LIMIT))
        store_probe.wait_drained(db, timeout=120)
        acked, sent = acked + ours.acked, sent + ours.sent
        late["ours"] += ours.slower_than_wecom_waits
        late["bare"] += bare.slower_than_wecom_waits
        figures += _level_figures(level, ours, bare)

    recorded = store_probe.received(db)
    figures += [
        Figure(
            "1 intake", "acks over 5 s or refused, all levels", late["ours"], late["bare"],
            "bare", "", "= 0", late["ours"] == 0,
        ),
        Figure(
            "1 intake", "MessageReceived in SQLite / callbacks acked", recorded, acked,
            f"acked of {sent} sent", "", "= acked = sent", recorded == acked == sent,
        ),
    ]
    return figures


def _level_figures(level: int, ours: Load, bare: Load) -> list[Figure]:
    name = f"1 intake @{level}"
    p99_target = level == P99_TARGET_LEVEL
    return [
        Figure(
            name, "callbacks/s", ours.throughput, bare.throughput, "bare", "/s",
            "ratio ≥ 0.50", ours.throughput >= 0.5 * bare.throughput,
        ),
        Figure(
            name, "p50 ack", ours.percentile(50) * 1e3, bare.percentile(50) * 1e3,
            "bare", "ms", "", None,
        ),
        Figure(
            name, "p99 ack", ours.percentile(99) * 1e3, bare.percentile(99) * 1e3, "bare", "ms",
            f"< {P99_TARGET_MS:.0f} ms" if p99_target else "",
            ours.percentile(99) * 1e3 < P99_TARGET_MS if p99_target else None,
        ),
    ]
