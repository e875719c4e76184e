"""The pooled httpx client against a real server: its bounds hold, nothing is capped that the
caller left unbounded, connections are kept alive for reuse and dropped when they can no longer
serve, every way a request ends gives its connection's place back, httpx's own errors come out,
and a proxy named by the environment is used as httpx uses it."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from adapters.outbound.pooled_transport import StackedTransport, pooled_client
from tests.support.certificates import self_signed
from tests.support.live_server import free_port, serve


class CountingServer:
    """Answers after `delay` seconds; counts requests in flight and the client ports seen."""

    def __init__(self, delay: float):
        self.delay = delay
        self.close_each = False
        self.in_flight = self.peak = 0
        self.ports: set[int] = set()
        self.app = Starlette(routes=[Route("/", self.answer), Route("/slow-body", self.slow_body)])

    async def answer(self, request):
        self.ports.add(request.client.port)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        headers = {"connection": "close"} if self.close_each else None
        return PlainTextResponse("ok", headers=headers)

    async def slow_body(self, request):
        self.ports.add(request.client.port)

        async def parts():
            yield b"first "
            await asyncio.sleep(5)
            yield b"last"

        return StreamingResponse(parts())


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
    # Long enough for all 150 to be in flight together on a busy machine.
    server.delay = 1.0
    async with pooled_client(5.0, max_connections=None, max_keepalive_connections=8) as client:
        assert await get_all(client, base_url, 150) == [200] * 150
    assert server.peak == 150


async def test_connections_are_kept_alive_and_reused(server, base_url):
    server.delay = 0
    async with pooled_client(5.0, max_connections=None, max_keepalive_connections=32) as client:
        for _ in range(40):
            assert (await client.get(base_url)).status_code == 200
    # Without keep-alive each request would open its own.
    assert len(server.ports) == 1


async def test_no_more_are_kept_idle_than_the_bound(server, base_url):
    async with pooled_client(5.0, max_connections=None, max_keepalive_connections=4) as client:
        assert await get_all(client, base_url, 16) == [200] * 16
        assert await get_all(client, base_url, 16) == [200] * 16
    # The second 16 found 4 connections kept from the first and opened 12.
    assert len(server.ports) == 16 + 12


async def test_a_connection_the_server_closes_after_its_answer_is_not_used_again(server, base_url):
    server.delay, server.close_each = 0, True
    async with pooled_client(5.0, max_connections=1, max_keepalive_connections=1) as client:
        for _ in range(5):
            assert (await client.get(base_url)).status_code == 200
    assert len(server.ports) == 5


async def test_a_kept_connection_the_server_closed_meanwhile_is_replaced_quietly(server):
    server.delay = 0
    with serve(server.app, timeout_keep_alive=0.1) as url:
        async with pooled_client(5.0, max_connections=1, max_keepalive_connections=1) as client:
            assert (await client.get(url)).status_code == 200
            await asyncio.sleep(0.5)
            assert (await client.get(url)).status_code == 200
    assert len(server.ports) == 2


async def test_a_kept_connection_is_not_used_after_its_keepalive_expiry(server, base_url):
    server.delay = 0
    limits = httpx.Limits(max_keepalive_connections=1, keepalive_expiry=0.1)
    async with httpx.AsyncClient(transport=StackedTransport(limits)) as client:
        assert (await client.get(base_url)).status_code == 200
        await asyncio.sleep(0.3)
        assert (await client.get(base_url)).status_code == 200
    assert len(server.ports) == 2


class ClosingWatcher:
    """A bare HTTP/1.1 server that answers every request on a connection and notes when the
    client closes it."""

    def __init__(self):
        self.closed = asyncio.Event()

    async def __call__(self, reader, writer) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except asyncio.IncompleteReadError:
            self.closed.set()
        finally:
            writer.close()


async def test_an_idle_connection_is_closed_after_its_keepalive_expiry_without_a_request():
    watcher = ClosingWatcher()
    server = await asyncio.start_server(watcher, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limits = httpx.Limits(max_keepalive_connections=4, keepalive_expiry=0.2)
    async with server, httpx.AsyncClient(transport=StackedTransport(limits)) as client:
        assert (await client.get(f"http://127.0.0.1:{port}/")).status_code == 200
        # Not by the next request (none comes) nor the client's close: by the pool's sweep.
        await asyncio.wait_for(watcher.closed.wait(), timeout=2.0)


async def test_waiting_for_a_connection_ends_at_the_pool_timeout(server, base_url):
    server.delay = 0.5
    async with pooled_client(5.0, max_connections=1, max_keepalive_connections=1) as client:
        timeout = httpx.Timeout(5.0, pool=0.1)
        first = asyncio.create_task(client.get(base_url, timeout=timeout))
        await asyncio.sleep(0.05)
        with pytest.raises(httpx.PoolTimeout):
            await client.get(base_url, timeout=timeout)
        assert (await first).status_code == 200
        # The waiter that gave up took no place: the next request gets one.
        assert (await client.get(base_url, timeout=timeout)).status_code == 200


async def test_a_failed_connect_is_httpx_error_and_frees_its_place():
    url = f"http://127.0.0.1:{free_port()}/"
    timeout = httpx.Timeout(5.0, pool=0.1)
    async with pooled_client(5.0, max_connections=1, max_keepalive_connections=1) as client:
        for _ in range(2):
            with pytest.raises(httpx.ConnectError):
                await client.get(url, timeout=timeout)


async def test_a_cancelled_request_frees_its_place(server, base_url):
    server.delay = 1.0
    async with pooled_client(5.0, max_connections=1, max_keepalive_connections=1) as client:
        waiting = asyncio.create_task(client.get(base_url))
        await asyncio.sleep(0.2)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        server.delay = 0
        answer = await client.get(base_url, timeout=httpx.Timeout(5.0, pool=0.5))
    assert answer.status_code == 200


async def test_a_response_left_half_read_frees_its_place_and_its_connection(server, base_url):
    server.delay = 0
    timeout = httpx.Timeout(5.0, pool=0.5)
    async with pooled_client(5.0, max_connections=1, max_keepalive_connections=1) as client:
        async with client.stream("GET", f"{base_url}/slow-body", timeout=timeout) as streamed:
            async for part in streamed.aiter_raw():
                assert part == b"first "
                break
        assert (await client.get(base_url, timeout=timeout)).status_code == 200
    # The half-read connection still had the body's rest coming: it was closed, not kept.
    assert len(server.ports) == 2


async def test_https_is_verified_and_kept_alive(server, tmp_path, monkeypatch):
    server.delay = 0
    certfile, keyfile = self_signed(tmp_path)
    tls = {"ssl_certfile": str(tmp_path / certfile), "ssl_keyfile": str(tmp_path / keyfile)}
    with serve(server.app, **tls) as url:
        https = url.replace("http://", "https://")
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / certfile))
        async with pooled_client(5.0, max_connections=4, max_keepalive_connections=4) as client:
            for _ in range(3):
                assert (await client.get(https)).status_code == 200
        assert len(server.ports) == 1
        monkeypatch.delenv("SSL_CERT_FILE")
        async with pooled_client(5.0, max_connections=4, max_keepalive_connections=4) as client:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.get(https)


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
