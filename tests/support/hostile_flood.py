"""Firing many mixed bad callback requests at a running service, with bounded concurrency and
a time limit, and counting what came back. Used by bench/hostile_input.py (10,000 requests)
and tests/e2e/test_hostile_input.py (a smaller run in CI).

Loopback only: `base_url` must name 127.0.0.1, so this can never be aimed at someone else.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from tests.support.hostile_callbacks import CallbackRequest, Peer, mixed


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)


async def flood(
    base_url: str,
    path: str,
    peer: Peer,
    *,
    count: int,
    concurrency: int = 32,
    seed: int = 5,
    time_limit: float = 300.0,
) -> Tally:
    """Sends at least `count` requests (a replay case sends two), stopping early at
    `time_limit` seconds."""
    if urlsplit(base_url).hostname not in ("127.0.0.1", "localhost"):
        raise ValueError("the hostile flood only targets a service on this machine")
    tally = Tally()
    cases = iter(range(count))
    started = time.monotonic()
    deadline = started + time_limit
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as client:

        async def worker(rng: random.Random) -> None:
            for _ in cases:
                if time.monotonic() > deadline:
                    return
                for request in mixed(peer, rng):
                    await _send(client, path, request, tally)

        await asyncio.gather(*(worker(random.Random(seed * 1000 + i)) for i in range(concurrency)))
    tally.seconds = time.monotonic() - started
    return tally


async def _send(client: httpx.AsyncClient, path: str, request: CallbackRequest, tally: Tally):
    content = request.body
    if request.chunked:
        body = request.body

        async def chunks():
            for start in range(0, len(body), 16_384):
                yield body[start : start + 16_384]

        content = chunks()
    tally.requests += 1
    try:
        response = await client.request(
            request.method, path, params=request.params, content=content,
            headers=request.headers,
        )
    except httpx.TransportError as error:
        tally.transport_errors[type(error).__name__] += 1
        return
    tally.statuses[response.status_code] += 1
