"""The service's HTTP client: CPU per request, its stacked pool against httpx's own pool.

The same client settings the service gives WeCom's client (100 connections, all kept alive),
the same POSTs to the bare endpoint (its own process), 1, 64 and 256 requests at once, the two
in turns; the figure is this process's CPU time per request, the client's share (the server is
elsewhere).
httpx's own pool costs more per request the more connections it holds (BENCHMARKS.md, issue
13); the stacked pool should cost the same at any concurrency.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import uvloop

from adapters.outbound.pooled_transport import pooled_client
from bench.helper_apps import BARE_PATH
from bench.processes import HelperServer
from bench.report import Figure

LEVELS = (1, 64, 256)
REQUESTS = 2000
# Each measured in turns this many times, the least CPU of each kept: the machine is noisy.
ROUNDS = 2
CONNECTIONS = 100
# Per request at the highest level, the stacked pool against httpx's pool.
TARGET_RATIO = 0.5


def run(workdir: Path) -> list[Figure]:
    with HelperServer("bare", workdir) as bare:
        return uvloop.run(_levels(f"{bare.base_url}{BARE_PATH}"))


async def _levels(url: str) -> list[Figure]:
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    figures = []
    async with (
        httpx.AsyncClient(limits=limits) as httpx_pool,
        pooled_client(30.0, CONNECTIONS, CONNECTIONS) as stacked,
    ):
        for level in LEVELS:
            ours, baseline = float("inf"), float("inf")
            for _ in range(ROUNDS):
                ours = min(ours, await _cpu_per_request(stacked, url, level))
                baseline = min(baseline, await _cpu_per_request(httpx_pool, url, level))
            last = level == LEVELS[-1]
            figures.append(
                Figure(
                    "http client", f"CPU per request, {level} at once", ours * 1e3,
                    baseline * 1e3, "httpx's own pool", "ms",
                    f"ratio ≤ {TARGET_RATIO}" if last else "",
                    ours / baseline <= TARGET_RATIO if last else None,
                )
            )
    return figures


async def _cpu_per_request(client: httpx.AsyncClient, url: str, at_once: int) -> float:
    async def send() -> None:
        response = await client.post(url, content=b"{}")
        response.raise_for_status()

    await asyncio.gather(*(send() for _ in range(at_once)))  # connections open before timing
    slots = asyncio.Semaphore(at_once)

    async def one() -> None:
        async with slots:
            await send()

    started = time.process_time()
    await asyncio.gather(*(one() for _ in range(REQUESTS)))
    return (time.process_time() - started) / REQUESTS
