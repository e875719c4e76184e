"""The pooled httpx client against a real server: its bounds hold over all its pools, nothing
is capped that the caller left unbounded, and connections are kept alive for reuse."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from adapters.outbound.pooled_transport import POOLS, pooled_client
from tests.support.live_server import serve


class CountingServer:
    """Answers after `delay` seconds; counts requests in flight and the client ports seen."""

    def __init__(self, delay: float):
        self.delay = delay
        self.in_flight = self.peak = 0
        self.ports: set[int] = set()
        self.app = Starlette(routes=[Route("/", self.answer)])

    async def answer(self, request):
        self.ports.add(request.client.port)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        return PlainTextResponse("ok")


@pytest.fixture
def server():
    return CountingServer(delay=0.2)


@pytest.fixture
def base_url(server):
    with serve(server.app) as url:
        yield url


async def get_all(client, url: str, count: int) -> list[int]:
    answers = await asyncio.gather(*(client.get(url) for _ in range(count)))
    return [answer.status_code for answer in answers]


async def test_a_bound_on_connections_holds_across_the_pools(server, base_url):
    async with pooled_client(5.0, max_connections=16, max_keepalive_connections=16) as client:
        assert await get_all(client, base_url, 48) == [200] * 48
    assert server.peak == 16


async def test_no_bound_means_none_not_httpx_default_of_100(server, base_url):
    async with pooled_client(5.0, max_connections=None, max_keepalive_connections=8) as client:
        assert await get_all(client, base_url, 150) == [200] * 150
    assert server.peak == 150


async def test_connections_are_kept_alive_and_reused(server, base_url):
    server.delay = 0
    async with pooled_client(5.0, max_connections=None, max_keepalive_connections=32) as client:
        for _ in range(40):
            assert (await client.get(base_url)).status_code == 200
    # One connection per pool at most; without keep-alive each request would open its own.
    assert len(server.ports) <= POOLS
