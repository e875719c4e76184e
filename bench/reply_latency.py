"""4. Reply latency the service adds on top of the model.

Callbacks arrive at a steady pace from a few members (each member's next message comes well
after the model has answered the last one, so nothing waits behind its own conversation); the
OpenAI stand-in answers after a fixed delay, and the WeCom stand-in notes when each reply
arrives. Added latency = (reply arrived at WeCom - callback sent) - the model's delay.
The baseline is the same pace of requests straight to the model stand-in: what the model
hop itself costs beyond its delay, HTTP and all, on this machine in this run.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import uvloop

from bench.load import CallbackMaker, Load, paced, percentile
from bench.processes import HelperServer, WeComApp
from bench.report import Figure
from tests.support.service_process import wait_until

MODEL_DELAY = 0.2
RATE, CALLBACKS, MEMBERS = 20.0, 200, 20
P99_TARGET_MS = 100.0


def run(workdir: Path) -> list[Figure]:
    app = WeComApp()
    with (
        app.standin(workdir) as wecom,
        HelperServer("openai", workdir, "--delay", str(MODEL_DELAY)) as model,
        app.service(
            workdir / "service", wecom.base_url, workdir / "reply.db",
            {"provider": "openai", "base_url": f"{model.base_url}/v1", "model": "stand-in"},
        ) as service,
    ):
        direct = uvloop.run(_model_directly(f"{model.base_url}/v1/chat/completions"))
        callbacks = CallbackMaker(app).make(CALLBACKS, MEMBERS, tag="latency")
        load = uvloop.run(paced([service.callback_url], callbacks, RATE))
        wait_until(
            lambda: len(wecom.stats()["sent"]) >= load.acked, timeout=60, what="every reply"
        )
        added = _added_latencies(load, wecom.stats()["sent"])
    base = [latency - MODEL_DELAY for latency in direct]
    return [
        Figure(
            "4 reply", "latency added to the model, p50", percentile(added, 50) * 1e3,
            percentile(base, 50) * 1e3, "model called directly", "ms", "", None,
        ),
        Figure(
            "4 reply", "latency added to the model, p99", percentile(added, 99) * 1e3,
            percentile(base, 99) * 1e3, "model called directly", "ms",
            f"< {P99_TARGET_MS:.0f} ms", percentile(added, 99) * 1e3 < P99_TARGET_MS,
        ),
    ]


def _added_latencies(load: Load, delivered: list[dict]) -> list[float]:
    # The stand-in model answers "answer to: <the member's message>", so the reply names
    # the callback it answers.
    arrived = {item["content"].removeprefix("answer to: "): item["arrived"] for item in delivered}
    missing = [content for content in load.sent_at if content not in arrived]
    if missing:
        raise AssertionError(f"{len(missing)} callbacks got no reply, e.g. {missing[0]!r}")
    return [arrived[content] - sent - MODEL_DELAY for content, sent in load.sent_at.items()]


async def _model_directly(url: str) -> list[float]:
    """Round trips of one chat completion each, at the benchmark's pace."""
    body = json.dumps(
        {"model": "stand-in", "messages": [{"role": "user", "content": "latency"}]}
    ).encode()
    latencies: list[float] = []
    async with aiohttp.ClientSession() as http:
        start = time.monotonic()

        async def call(i: int) -> None:
            await asyncio.sleep(max(0.0, start + i / RATE - time.monotonic()))
            sent = time.monotonic()
            async with http.post(url, data=body, headers={"content-type": "application/json"}) as r:
                await r.read()
            latencies.append(time.monotonic() - sent)

        await asyncio.gather(*(call(i) for i in range(CALLBACKS // 2)))
    return latencies
