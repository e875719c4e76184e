"""9. The usage projection's cost, and 10. the audit export of 100,000 events.

9: a callback's acknowledgement writes only MessageReceived, so the projection costs intake
nothing there; it is written with the answer (ModelUsed beside AnswerComposed, one upsert of
usage_totals in the same transaction). Measured: recording one answered message the way the
service does (received; used + answer; part sent; delivered: four commits) on the real
SqlAlchemyEventStore over SQLite, against the same without ModelUsed and its upsert, the
two alternating message by message in one run.

10: GET /admin/api/export of 100,000 events from the real service (`python app.py`, admin on,
SQLite), read to the end over HTTP; baseline: the same rows read straight from the SQLite file
with the sqlite3 module and written as one JSON line each, the floor of any export. The
service's resident memory is sampled during the download: it must not grow with the range.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import threading
import time
from pathlib import Path

import httpx
import uvloop
from sqlalchemy import insert

from adapters.outbound.persistence.event_serialization import to_row
from adapters.outbound.persistence.sqlalchemy_engine import build_engine
from adapters.outbound.persistence.sqlalchemy_event_store import SqlAlchemyEventStore
from adapters.outbound.persistence.sqlalchemy_migrations import migrate
from adapters.outbound.persistence.sqlalchemy_schema import events
from bench.processes import BenchService, WeComApp
from bench.report import Figure
from domain.events import (
    AnswerComposed,
    Event,
    MessageReceived,
    ModelUsed,
    ReplyDelivered,
    ReplyPartSent,
)
from domain.messages import InboundMessage
from domain.usage import Usage
from tests.support.e2e import random_key, service_config

MESSAGES = 400
MEMBERS = 50
EXPORTED = 100_000
PROJECTION_TARGET = 1.25
EXPORT_RATIO_TARGET = 5
EXPORT_RSS_TARGET_MIB = 64
QUESTION = "请问下周项目评审需要准备哪些材料？"
ANSWER = "请准备项目进度报告、预算执行情况和风险清单。" * 3


def run_projection(workdir: Path) -> list[Figure]:
    return uvloop.run(_projection(workdir))


async def _projection(workdir: Path) -> list[Figure]:
    stores = {}
    for variant in ("with", "without"):
        engine = build_engine(f"sqlite:///{workdir / variant}.db")
        await migrate(engine)
        stores[variant] = (engine, SqlAlchemyEventStore(engine))
    times: dict[str, list[float]] = {"with": [], "without": []}
    try:
        for n in range(MESSAGES):  # alternating message by message: noise falls on both alike
            for variant, (_engine, store) in stores.items():
                batches = _answered(n, variant == "with")
                start = time.perf_counter()
                for batch in batches:
                    await store.append(batch)
                times[variant].append(time.perf_counter() - start)
    finally:
        for engine, _store in stores.values():
            await engine.dispose()
    ours, base = (statistics.median(times[v]) * 1e3 for v in ("with", "without"))
    return [
        Figure(
            "9 usage", "record one answered message (4 commits), median", ours, base,
            "without ModelUsed and its upsert", "ms", f"ratio ≤ {PROJECTION_TARGET}",
            ours <= PROJECTION_TARGET * base,
        )
    ]


def _answered(n: int, with_usage: bool) -> list[list[Event]]:
    """The appends of one answered message, as HandleMessage and the deliverer make them."""
    member = f"member{n % MEMBERS}"
    message = InboundMessage(
        msg_type="text", from_user=member, create_time=1_700_000_000 + n, agent_id=1000002,
        msg_id=f"bench-{n}", content=QUESTION,
    )
    common = {"stream_id": message.dedup_key, "conversation_id": message.conversation_id}
    used = ModelUsed(
        **common, version=2, channel=message.channel, member=member, department=n % 7 + 1,
        usage=Usage(tokens_in=180, tokens_out=60),
    )
    version = 3 if with_usage else 2
    answer = AnswerComposed(
        **common, version=version, to_user=member, text=ANSWER, parts=(ANSWER,),
        prompt=QUESTION, answer=ANSWER,
    )
    return [
        [MessageReceived(**common, version=1, message=message)],
        [used, answer] if with_usage else [answer],
        [ReplyPartSent(**common, version=version + 1, index=0, wecom_msg_id=f"w{n}")],
        [ReplyDelivered(**common, version=version + 2)],
    ]


def run_export(workdir: Path) -> list[Figure]:
    db = workdir / "export.db"
    uvloop.run(_fill(db))
    baseline = _raw_dump(db)
    admin_token = random_key(32)
    app = WeComApp()
    # Nothing is sent to WeCom while exporting: the API base only has to be well formed.
    config = service_config(app, "http://127.0.0.1:9", app, f"sqlite:///{db}")
    config["admin"] = {"enabled": True, "bearer_token": admin_token}
    (workdir / "service").mkdir()
    with BenchService(config, workdir / "service") as service:
        service.start()
        time.sleep(1.0)  # start-up allocations settle
        before = service.rss_mib()
        peak = _Peak(service)
        start = time.perf_counter()
        lines = _download(f"{service.base_url}/admin/api/export", admin_token)
        seconds = time.perf_counter() - start
        peak.stop()
    if lines != EXPORTED:
        raise AssertionError(f"exported {lines} events of {EXPORTED}")
    growth = peak.most - before
    return [
        Figure(
            "10 export", f"{EXPORTED:,} events as JSON lines over HTTP", seconds, baseline,
            "raw SELECT + json.dumps", "s", f"ratio ≤ {EXPORT_RATIO_TARGET}",
            seconds <= EXPORT_RATIO_TARGET * baseline,
        ),
        Figure(
            "10 export", "service RSS growth while exporting", growth, before,
            "RSS before", "MiB", f"< {EXPORT_RSS_TARGET_MIB} MiB",
            growth < EXPORT_RSS_TARGET_MIB,
        ),
    ]


async def _fill(db: Path) -> None:
    """EXPORTED events, written in one transaction with the store's own row format."""
    engine = build_engine(f"sqlite:///{db}")
    try:
        await migrate(engine)
        rows = []
        n = 0
        while len(rows) < EXPORTED:
            rows += [to_row(event) for batch in _answered(n, True) for event in batch]
            n += 1
        async with engine.begin() as conn:
            await conn.execute(insert(events), rows[:EXPORTED])
    finally:
        await engine.dispose()


def _raw_dump(db: Path) -> float:
    start = time.perf_counter()
    with sqlite3.connect(db) as conn:
        written = 0
        for row in conn.execute("SELECT * FROM events ORDER BY position"):
            written += len(json.dumps(list(row), ensure_ascii=False)) + 1
    return time.perf_counter() - start


def _download(url: str, token: str) -> int:
    lines = 0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.stream("GET", url, headers=headers, timeout=600) as response:
        response.raise_for_status()
        for _line in response.iter_lines():
            lines += 1
    return lines


class _Peak:
    """The service's largest RSS, sampled every 50 ms in a thread until stopped."""

    def __init__(self, service: BenchService):
        self.most = service.rss_mib()
        self._service = service
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(0.05):
            self.most = max(self.most, self._service.rss_mib())

    def stop(self) -> None:
        self._done.set()
        self._thread.join()
