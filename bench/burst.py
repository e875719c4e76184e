"""Bursts of new members, all asking at once (benchmarks `burst` and `echo`).

burst: 1,000 new members each ask one question at once; the OpenAI stand-in (its own process)
answers each after 2 s and takes at most N calls at once, answering 429 with Retry-After above
that. Time to the last answer delivered (measured from the first callback sent, at the WeCom
stand-in) against the physical floor: ceil(1000 / N) x 2 s. Rows: N = 256 with the default
`llm.max_concurrency` (256), N = 1,024 with `llm.max_concurrency` 1,024 (the model could take
them all at once), and N = 64 with `llm.max_concurrency` 1,024 (we ask more than the server
takes: its 429s must slow us down, not fail members; 64, so that the pipeline does outrun it).
Each row also reports the stand-in's own count of calls at once and of 429s, and the most sends
any member got from WeCom in a minute.

echo: 5,000 new members, the offline `echo` model (no model latency: the pipeline's own
overhead), replies per second delivered at the WeCom stand-in, against the stand-in's own
message/send rate driven directly by an httpx client at the same concurrency.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import uvloop

from bench.helper_apps import BENCH_AGENT_ID, BENCH_CORP_ID
from bench.load import CallbackMaker, closed_loop
from bench.processes import CpuAccount, HelperServer, WeComApp
from bench.report import Figure
from domain import notices

MODEL_SECONDS = 2.0
BURST_MEMBERS = 1000
# Senders at once: every member's callback is in flight together, as after an announcement.
BURST_SENDERS = 256
ECHO_MEMBERS = 5000
ECHO_SENDERS = 64
ECHO_TARGET = 1000.0
# Above the floor, what the pipeline may add: the 5 s against a 2 s model.
ALLOWANCE_SECONDS = 3.0
WECOM_PER_MEMBER_PER_MINUTE = 30
# Every wait is bounded: a run that does not finish in this time fails instead of hanging.
ANSWERS_TIMEOUT = 600.0


def run_burst(workdir: Path) -> list[Figure]:
    figures = []
    for label, allowed, ours in (
        ("(a) 256 allowed", 256, None),
        ("(b) 1,024 allowed", 1024, 1024),
        ("(c) 64 allowed, we ask 1,024", 64, 1024),
    ):
        figures += _burst_row(workdir / f"burst-{allowed}-{ours}", label, allowed, ours)
    return figures


def _burst_row(workdir: Path, label: str, allowed: int, ours: int | None) -> list[Figure]:
    workdir.mkdir(parents=True)
    app = WeComApp()
    llm: dict[str, Any] = {"provider": "openai", "model": "stand-in"}
    if ours is not None:
        llm["max_concurrency"] = ours
    model_args = ("--delay", str(MODEL_SECONDS), "--max-concurrent", str(allowed))
    with (
        app.standin(workdir) as wecom,
        HelperServer("openai", workdir, *model_args, "--retry-after", "1") as model,
        app.service(
            workdir / "service",
            wecom.base_url,
            workdir / "burst.db",
            llm | {"base_url": f"{model.base_url}/v1"},
        ) as service,
    ):
        callbacks = CallbackMaker(app).make(BURST_MEMBERS, None, tag="burst")
        account = CpuAccount(
            {"service": service.pid, "WeCom stand-in": wecom.pid, "model stand-in": model.pid}
        )
        with account.measure():
            load = uvloop.run(closed_loop(service.callback_url, callbacks, BURST_SENDERS, 60))
            sent = _wait_for_answers(wecom, load.acked)
        start = load.started
        cpu = account.used("service")
        stats = model.stats()
    last = max(item["arrived"] for item in sent) - start
    floor = math.ceil(BURST_MEMBERS / allowed) * MODEL_SECONDS
    most = _most_sends_in_a_minute(sent)
    told_failed = sum(1 for item in sent if item["content"] == notices.MODEL_FAILED)
    # The burst's own figures, printed as they come: the table shows only some of them.
    print(
        f"  burst {label}: acked {load.acked}/{len(callbacks)} in {load.elapsed:.1f}s, "
        f"answers {len(sent)}, last answer {last:.1f}s, floor {floor:.0f}s, "
        f"peak at model {stats['peak_concurrency']}, 429s {stats['busy_refusals']}, "
        f"most sends to one member in a minute {most}, told the model failed {told_failed}, "
        f"service CPU {cpu:.1f} s ({cpu / len(sent) * 1e3:.1f} ms a member); "
        + account.describe(),
        flush=True,
    )
    if load.acked != len(callbacks) or len(sent) != load.acked:
        raise AssertionError(f"burst {label}: {load.acked} acked, {len(sent)} answered")
    if most > WECOM_PER_MEMBER_PER_MINUTE:
        raise AssertionError(f"burst {label}: a member got {most} sends in one minute")
    return [
        Figure(
            "burst", f"{label}: time to the last answer", last, floor, "ceil(1000/N) x 2 s",
            "s", f"≤ floor + {ALLOWANCE_SECONDS:g} s", last <= floor + ALLOWANCE_SECONDS,
        ),
        Figure(
            "burst", f"{label}: calls at the model at once", stats["peak_concurrency"], allowed,
            "the server's limit", "", "≤ limit", stats["peak_concurrency"] <= allowed,
        ),
        Figure(
            "burst", f"{label}: 429s answered by the model", stats["busy_refusals"],
            BURST_MEMBERS, "members", "", "", None,
        ),
        Figure(
            "burst", f"{label}: members told the model failed", told_failed, BURST_MEMBERS,
            "members", "", "= 0", told_failed == 0,
        ),
    ]


def _wait_for_answers(wecom: HelperServer, expected: int) -> list[dict]:
    deadline = time.monotonic() + ANSWERS_TIMEOUT
    while True:
        sent = wecom.stats()["sent"]
        if len(sent) >= expected:
            return sent
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(sent)} of {expected} answers after {ANSWERS_TIMEOUT}s")
        time.sleep(0.5)


def _most_sends_in_a_minute(sent: list[dict]) -> int:
    """The most messages WeCom took for one member within any 60 s, by its own clock."""
    by_member: dict[str, list[float]] = defaultdict(list)
    for item in sent:
        by_member[item["touser"]].append(item["arrived"])
    most = 0
    for times in by_member.values():
        times.sort()
        first = 0
        for last, at in enumerate(times):
            while at - times[first] >= 60:
                first += 1
            most = max(most, last - first + 1)
    return most


def run_echo(workdir: Path) -> list[Figure]:
    app = WeComApp()
    with (
        app.standin(workdir) as wecom,
        app.service(workdir / "service", wecom.base_url, workdir / "echo.db") as service,
    ):
        callbacks = CallbackMaker(app).make(ECHO_MEMBERS, None, tag="echo")
        account = CpuAccount({"service": service.pid, "WeCom stand-in": wecom.pid})
        with account.measure():
            load = uvloop.run(closed_loop(service.callback_url, callbacks, ECHO_SENDERS, 120))
            sent = _wait_for_answers(wecom, load.acked)
        start = load.started
        cpu = account.used("service")
        direct = uvloop.run(_sends_directly(wecom.base_url, app.corp_secret, ECHO_MEMBERS))
    arrived = sorted(item["arrived"] for item in sent)
    rate = len(sent) / (arrived[-1] - start)
    print(
        f"  echo: acked {load.acked} in {load.elapsed:.1f}s ({load.throughput:.0f}/s), "
        f"{len(sent)} replies by {arrived[-1] - start:.1f}s ({rate:.0f}/s), "
        f"message/send driven directly {direct:.0f}/s, "
        f"service CPU {cpu:.1f} s ({cpu / len(sent) * 1e3:.1f} ms a member); "
        + account.describe(),
        flush=True,
    )
    return [
        Figure(
            "echo", f"replies/s, burst of {ECHO_MEMBERS:,} new members (echo model)", rate, direct,
            "message/send driven directly", "/s", f"≥ {ECHO_TARGET:,.0f}/s", rate >= ECHO_TARGET,
        ),
        Figure(
            "echo", "callbacks acknowledged/s in the same run", load.throughput, direct,
            "message/send driven directly", "/s", "", None,
        ),
    ]


async def _sends_directly(wecom_url: str, corp_secret: str, count: int) -> float:
    """message/send calls per second the WeCom stand-in takes from one httpx client with
    ECHO_SENDERS at once: the most replies a second the stand-in could ever count."""
    async with httpx.AsyncClient(base_url=wecom_url, timeout=30) as http:
        token = (
            await http.get(
                "/cgi-bin/gettoken", params={"corpid": BENCH_CORP_ID, "corpsecret": corp_secret}
            )
        ).json()["access_token"]
        queue = iter(range(count))

        async def sender() -> None:
            for i in queue:
                body = {
                    "touser": f"direct{i}", "msgtype": "text", "agentid": BENCH_AGENT_ID,
                    "text": {"content": f"direct {i}"},
                }
                answer = await http.post(
                    "/cgi-bin/message/send", params={"access_token": token}, json=body
                )
                answer.raise_for_status()

        started = time.monotonic()
        await asyncio.gather(*(sender() for _ in range(ECHO_SENDERS)))
        return count / (time.monotonic() - started)
