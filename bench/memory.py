"""5. Memory: the service's resident set after 10,000 conversations (distinct members).

Baseline: the same process right after start-up. The RSS is also read halfway, because a
bounded service grows while its caches fill (SQLAlchemy's statement cache, SQLite's page
cache, connection pools) and then stays flat: the second half's growth is what would go on
growing with more conversations.
"""

from __future__ import annotations

import time
from pathlib import Path

import uvloop

from bench import store_probe
from bench.load import CallbackMaker, closed_loop
from bench.processes import WeComApp
from bench.report import Figure

CONVERSATIONS = 10_000
HALVES = 2
CONCURRENCY = 64
# Per conversation, past the first half: anything above this is a leak in the making.
GROWTH_TARGET_KIB_PER_CONVERSATION = 0.5
# Answering 5,000 new members takes 60-100 s on an idle machine, many times that on a busy one.
DRAIN_SECONDS = 900


def run(workdir: Path) -> list[Figure]:
    app = WeComApp()
    db = workdir / "memory.db"
    with (
        app.standin(workdir) as wecom,
        app.service(workdir / "service", wecom.base_url, db) as service,
    ):
        time.sleep(1.0)  # start-up allocations settle (lifespan tasks, first sweep)
        at_start = service.rss_mib()
        maker = CallbackMaker(app)
        rss = []
        for _ in range(HALVES):
            callbacks = maker.make(CONVERSATIONS // HALVES, users=None, tag="memory")
            load = uvloop.run(closed_loop(service.callback_url, callbacks, CONCURRENCY, 120))
            if load.acked != len(callbacks):
                raise AssertionError(f"only {load.acked} of {len(callbacks)} callbacks acked")
            store_probe.wait_drained(db, timeout=DRAIN_SECONDS)
            rss.append(service.rss_mib())
    half, full = rss
    per_conversation_kib = (full - half) * 1024 / (CONVERSATIONS / HALVES)
    return [
        Figure(
            "5 memory", f"RSS after {CONVERSATIONS:,} conversations", full, at_start,
            "after start-up", "MiB", "", None,
        ),
        Figure(
            "5 memory", f"growth per conversation, second {CONVERSATIONS // HALVES:,}",
            per_conversation_kib, (half - at_start) * 1024 / (CONVERSATIONS / HALVES),
            f"first {CONVERSATIONS // HALVES:,}", "KiB",
            f"< {GROWTH_TARGET_KIB_PER_CONVERSATION} KiB",
            per_conversation_kib < GROWTH_TARGET_KIB_PER_CONVERSATION,
        ),
    ]
