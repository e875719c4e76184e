"""1. Callback intake: the real service against a bare endpoint under the same uvicorn.

Both get the same signed, encrypted, unique text callbacks at rising concurrency, bare first,
then ours, then a pause until the service has answered every message, so that one level's
replies do not eat into the next level's measurement. Replies go to a WeCom stand-in from the
offline echo model, as they would in production, while intake goes on. On SQLite the two also
get callbacks 50 ms apart, each answered before the next arrives: the ack on its own.

`run` measures the service on SQLite; `run_postgres` on the PostgreSQL database named by
WEWORKTOP_BENCH_POSTGRES_URL (its weworktop tables are dropped first), or without it on a
cluster of its own (fsync on, as in production), with one instance, then two instances on that
one database against the first alone, in turns.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from pathlib import Path

import uvloop

from bench import store_probe
from bench.helper_apps import BARE_PATH
from bench.load import CallbackMaker, Load, closed_loop, paced
from bench.processes import BenchService, CpuAccount, HelperServer, WeComApp
from bench.report import Figure
from tests.support.private_postgres import postgres_binaries, private_cluster
from tests.support.stores import emptied_now

LEVELS = (1, 16, 64, 256)
POSTGRES_LEVELS = (1, 64)
# Enough callbacks per level for a stable p99, and a time limit that ends a slow level early.
CALLBACKS_PER_LEVEL = {1: 300, 16: 1500, 64: 2500, 256: 2500}
# Fewer on PostgreSQL, where answering them between levels is slower (each reply's dozens of
# statements are network round trips).
POSTGRES_CALLBACKS_PER_LEVEL = {1: 150, 64: 600}
LEVEL_TIME_LIMIT = 8.0
WARM_UP = 200
DRAIN_TIMEOUT = 300.0
# Replies cycle over this many members, so conversations run in parallel as in a company.
MEMBERS = 500
P99_TARGET_MS, P99_TARGET_LEVEL = 20.0, 64
P50_TARGET_MS, P50_TARGET_LEVEL = 3.0, 1
TWO_INSTANCES_TARGET = 1.6
# Callbacks far enough apart that each is answered before the next arrives: the ack on its own,
# where one at a time closed-loop sends each the instant the previous was acked, into that
# message's answer on the same core.
SPACED_PER_SECOND, SPACED_CALLBACKS = 20, 200
# Two instances against one: each measured this many times, in turns, median against median
# (one short run of each moved the ratio between 1.1 and 1.5 on the same code).
TWO_INSTANCES_ROUNDS, TWO_INSTANCES_CALLBACKS = 3, 1200
POSTGRES_URL_VARIABLE = "WEWORKTOP_BENCH_POSTGRES_URL"


def run(workdir: Path) -> list[Figure]:
    app = WeComApp()
    db = workdir / "intake.db"
    with (
        app.standin(workdir) as wecom,
        HelperServer("bare", workdir) as bare,
        app.service(workdir / "service", wecom.base_url, db) as service,
    ):
        intake = _Intake(app, f"{bare.base_url}{BARE_PATH}", db, CALLBACKS_PER_LEVEL)
        figures = intake.levels("1 intake", [service.callback_url], LEVELS)
        figures += intake.spaced("1 intake 20/s", service.callback_url)
        return figures + intake.totals("1 intake")


def run_postgres(workdir: Path) -> list[Figure]:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if url:
        return _postgres_rows(workdir, url)
    if postgres_binaries() is None:
        print(
            f"  intake_pg skipped: PostgreSQL's server is not installed here; set "
            f"{POSTGRES_URL_VARIABLE}=postgresql://… (a database of its own: its weworktop "
            "tables are dropped first)",
            flush=True,
        )
        return []
    print(f"  intake_pg on a PostgreSQL cluster of its own ({POSTGRES_URL_VARIABLE} unset)")
    with private_cluster(fsync=True) as cluster:
        return _postgres_rows(workdir, cluster.url)


def _postgres_rows(workdir: Path, url: str) -> list[Figure]:
    app = WeComApp()
    db = emptied_now(url)
    with (
        app.standin(workdir) as wecom,
        HelperServer("bare", workdir) as bare,
        app.service(workdir / "one", wecom.base_url, db) as one,
    ):
        intake = _Intake(app, f"{bare.base_url}{BARE_PATH}", db, POSTGRES_CALLBACKS_PER_LEVEL)
        figures = intake.levels("1 intake pg", [one.callback_url], POSTGRES_LEVELS)
        with app.service(workdir / "two", wecom.base_url, db) as two:
            figures.append(intake.two_against_one(one, two, wecom))
        return figures + intake.totals("1 intake pg")


class _Intake:
    """Levels of closed-loop load against the bare endpoint and the service, waiting between
    levels until every message is answered, and the count of what was recorded."""

    def __init__(
        self, app: WeComApp, bare_url: str, db: Path | str, per_level: dict[int, int]
    ):
        self._maker = CallbackMaker(app)
        self._per_level = per_level
        self._bare_url = bare_url
        self._db = db
        self._acked = self._sent = 0
        self._late = {"ours": 0, "bare": 0}
        self._warmed = False

    def levels(self, name: str, ours: Sequence[str], levels: Sequence[int]) -> list[Figure]:
        if not self._warmed:
            # A first pass fills the servers' caches and the database's first pages.
            self._warmed = True
            warm_up = min(WARM_UP, self._per_level[min(self._per_level)])
            self._send(self._bare_url, warm_up, 16)
            self._count(self._send(ours, warm_up, 16))
        figures: list[Figure] = []
        for level in levels:
            callbacks = self._maker.make(self._per_level[level], MEMBERS)
            bare = uvloop.run(closed_loop(self._bare_url, callbacks, level, LEVEL_TIME_LIMIT))
            measured = self._count(
                uvloop.run(closed_loop(ours, callbacks, level, LEVEL_TIME_LIMIT))
            )
            self._late["bare"] += bare.slower_than_wecom_waits
            figures += _level_figures(f"{name} @{level}", level, measured, bare)
        return figures

    def spaced(self, name: str, ours: str) -> list[Figure]:
        callbacks = self._maker.make(SPACED_CALLBACKS, MEMBERS)
        bare = uvloop.run(paced([self._bare_url], callbacks, SPACED_PER_SECOND))
        measured = self._count(uvloop.run(paced([ours], callbacks, SPACED_PER_SECOND)))
        self._late["bare"] += bare.slower_than_wecom_waits
        what = f"{1000 // SPACED_PER_SECOND} ms apart"
        return [
            Figure(
                name, f"p50 ack, {what}", measured.percentile(50) * 1e3,
                bare.percentile(50) * 1e3, "bare", "ms", "", None,
            ),
            Figure(
                name, f"p99 ack, {what}", measured.percentile(99) * 1e3,
                bare.percentile(99) * 1e3, "bare", "ms", "", None,
            ),
        ]

    def two_against_one(
        self, first: BenchService, second: BenchService, wecom: HelperServer
    ) -> Figure:
        """64 senders spread over two instances on one database, against the same 64 on the
        first alone: the second warmed up as the first was, then alone and pair in turns,
        median against median. Prints where the machine's CPU went while the pair took its
        callbacks, which tells a full machine from instances that wait on something else."""
        level, count = P99_TARGET_LEVEL, TWO_INSTANCES_CALLBACKS
        self._count(self._send(second.callback_url, WARM_UP, 16))
        both = [first.callback_url, second.callback_url]
        cpu = CpuAccount(
            {"instance one": first.pid, "instance two": second.pid, "stand-in": wecom.pid},
            postgres=True,
        )
        alone, pair = [], []
        for _ in range(TWO_INSTANCES_ROUNDS):
            alone.append(self._count(self._send(first.callback_url, count, level)).throughput)
            with cpu.measure():
                load = self._send(both, count, level)
            pair.append(self._count(load).throughput)
        print(
            f"  two instances: pair {[round(x) for x in pair]}/s, alone "
            f"{[round(x) for x in alone]}/s; while the pair took its callbacks, "
            + cpu.describe(),
            flush=True,
        )
        one, two = statistics.median(alone), statistics.median(pair)
        figure = f"callbacks/s, two instances (median of {TWO_INSTANCES_ROUNDS})"
        return Figure(
            f"1 intake pg @{level}", figure, two, one, "one instance, in turns", "/s",
            f"ratio ≥ {TWO_INSTANCES_TARGET:.2f}", two >= TWO_INSTANCES_TARGET * one,
        )

    def totals(self, name: str) -> list[Figure]:
        recorded = store_probe.received(self._db)
        acked, sent = self._acked, self._sent
        return [
            Figure(
                name, "acks over 5 s or refused, all levels", self._late["ours"],
                self._late["bare"], "bare", "", "= 0", self._late["ours"] == 0,
            ),
            Figure(
                name, "MessageReceived in the store / callbacks acked", recorded, acked,
                f"acked of {sent} sent", "", "= acked = sent", recorded == acked == sent,
            ),
        ]

    def _send(self, urls: str | Sequence[str], count: int, concurrency: int) -> Load:
        callbacks = self._maker.make(count, MEMBERS)
        return uvloop.run(closed_loop(urls, callbacks, concurrency, LEVEL_TIME_LIMIT))

    def _count(self, ours: Load) -> Load:
        """Counts the service's load, then waits until its replies are done."""
        store_probe.wait_drained(self._db, timeout=DRAIN_TIMEOUT)
        self._acked, self._sent = self._acked + ours.acked, self._sent + ours.sent
        self._late["ours"] += ours.slower_than_wecom_waits
        return ours


def _level_figures(name: str, level: int, ours: Load, bare: Load) -> list[Figure]:
    p99_target = level == P99_TARGET_LEVEL
    p50_target = level == P50_TARGET_LEVEL
    return [
        Figure(
            name, "callbacks/s", ours.throughput, bare.throughput, "bare", "/s",
            "ratio ≥ 0.50", ours.throughput >= 0.5 * bare.throughput,
        ),
        Figure(
            name, "p50 ack", ours.percentile(50) * 1e3, bare.percentile(50) * 1e3, "bare", "ms",
            f"< {P50_TARGET_MS:.0f} ms" if p50_target else "",
            ours.percentile(50) * 1e3 < P50_TARGET_MS if p50_target else None,
        ),
        Figure(
            name, "p99 ack", ours.percentile(99) * 1e3, bare.percentile(99) * 1e3, "bare", "ms",
            f"< {P99_TARGET_MS:.0f} ms" if p99_target else "",
            ours.percentile(99) * 1e3 < P99_TARGET_MS if p99_target else None,
        ),
    ]

