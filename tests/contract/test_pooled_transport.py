"""The pooled httpx client against a real server: its bounds hold over all its pools, nothing
is capped that the caller left unbounded, connections are kept alive for reuse, and a proxy
named by the environment is used as httpx uses it."""

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


@pytest.fixture(autouse=True)
def no_proxy_in_the_environment(monkeypatch):
    # pooled_client picks its pools by the environment's proxies: a machine that names one
    # would otherwise test httpx's own client, through that proxy.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


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


class ProxyStandIn:
    """Answers any request itself, and keeps the host and path each was meant for (a request
    sent through an HTTP proxy names its target's host)."""

    def __init__(self):
        self.targets: list[tuple[str, str]] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        host = dict(scope["headers"])[b"host"].decode()
        self.targets.append((host, scope["path"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"via the proxy"})


async def test_a_proxy_in_the_environment_is_used(monkeypatch):
    proxy = ProxyStandIn()
    with serve(proxy) as proxy_url:
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        # Nothing listens on port 9 here: the answer can only come from the proxy.
        async with pooled_client(5.0, max_connections=None, max_keepalive_connections=8) as client:
            answer = await client.get("http://127.0.0.1:9/v1/models")
    assert answer.text == "via the proxy"
    assert proxy.targets == [("127.0.0.1:9", "/v1/models")]
