"""An httpx client whose connection pool costs the same per request however many connections
it holds.

httpcore's pool looks at every connection it holds, and at every queued request against each,
whenever a request starts or ends; and the requests it wakes together are often handed the same
idle connection, all but one of them then going round again. With the hundreds of connections a
burst keeps to the model, and the hundred to WeCom, that was the largest share of the service's
CPU per answer after the answer's own work (BENCHMARKS.md, issue 13). The pool here keeps each
origin's idle connections on a stack: a request takes the one used last (or opens a new one) and
gives it back when its response is closed. httpx still builds the request, maps httpcore's
errors to its own and reads the response; httpcore's connection still speaks HTTP/1.1 and TLS.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from urllib.request import getproxies

import httpcore
import httpx

Origin = tuple[bytes, bytes, int]  # scheme, host, port


def pooled_client(
    timeout: float, max_connections: int | None, max_keepalive_connections: int
) -> httpx.AsyncClient:
    """An AsyncClient with these bounds (None: unbounded) on one stacked pool. With a proxy in
    the environment (HTTPS_PROXY, ALL_PROXY, …), httpx's own pool: httpx follows those
    variables, NO_PROXY included, only for a client without a transport of its own, and every
    call then goes to the proxy anyway."""
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_keepalive_connections
    )
    if getproxies():
        return httpx.AsyncClient(timeout=timeout, limits=limits)
    return httpx.AsyncClient(timeout=timeout, transport=StackedTransport(limits))


class StackedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport (request, response and error mapping) on a ConnectionStack."""

    def __init__(self, limits: httpx.Limits):
        ssl_context = httpx.create_ssl_context()
        super().__init__(verify=ssl_context, limits=limits)
        # httpx has no parameter for a pool of the caller's; the attribute it sends through
        # is replaced (the contract tests pin what httpx must still do around it).
        self._pool = ConnectionStack(ssl_context, limits)


class ConnectionStack:
    """At most `max_connections` in use at once (None: no bound), waiting up to the request's
    pool timeout for a free one; at most `max_keepalive_connections` kept idle, each for at
    most `keepalive_expiry` seconds."""

    def __init__(self, ssl_context, limits: httpx.Limits):
        self._ssl_context = ssl_context
        keep = limits.max_keepalive_connections
        self._keep = math.inf if keep is None else keep
        self._keepalive_expiry = limits.keepalive_expiry
        self._slots = (
            None if limits.max_connections is None else asyncio.Semaphore(limits.max_connections)
        )
        # Per origin, oldest first: taken from the right (warm), expired ones from the left.
        self._idle: defaultdict[Origin, deque[httpcore.AsyncHTTPConnection]] = defaultdict(deque)
        self._idle_count = 0
        # Responses still open when the client closes give their connections back to nobody.
        self._closed = False
        # One timer at a time closes the idle connections that have expired, so that those a
        # burst leaves behind do not stay open until the next request.
        self._sweep: asyncio.TimerHandle | None = None
        self._sweeping: asyncio.Task[None] | None = None

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        origin = request.url.origin
        stack = self._idle[(origin.scheme, origin.host, origin.port)]
        await self._take_slot(request)
        connection = None
        try:
            connection = await self._connection_for(origin, stack)
            response = await connection.handle_async_request(request)
        except BaseException:
            self._free_slot()
            if connection is not None:
                await connection.aclose()
            raise
        response.stream = _GivenBack(response.stream, lambda: self._give_back(connection, stack))
        return response

    async def aclose(self) -> None:
        self._closed = True
        if self._sweep is not None:
            self._sweep.cancel()
        if self._sweeping is not None:
            self._sweeping.cancel()
        idle = [connection for stack in self._idle.values() for connection in stack]
        for stack in self._idle.values():
            stack.clear()
        self._idle_count = 0
        for connection in idle:
            await connection.aclose()

    async def __aenter__(self) -> ConnectionStack:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()

    async def _take_slot(self, request: httpcore.Request) -> None:
        if self._slots is None:
            return
        wait = request.extensions.get("timeout", {}).get("pool")
        try:
            async with asyncio.timeout(wait):
                await self._slots.acquire()
        except TimeoutError:
            raise httpcore.PoolTimeout(f"no connection free within {wait} s") from None

    def _free_slot(self) -> None:
        if self._slots is not None:
            self._slots.release()

    async def _connection_for(
        self, origin: httpcore.Origin, stack: deque[httpcore.AsyncHTTPConnection]
    ) -> httpcore.AsyncHTTPConnection:
        while stack:
            self._idle_count -= 1
            connection = stack.pop()
            if connection.is_idle() and not connection.has_expired():
                return connection
            await connection.aclose()
        return httpcore.AsyncHTTPConnection(
            origin, ssl_context=self._ssl_context, keepalive_expiry=self._keepalive_expiry
        )

    async def _give_back(
        self, connection: httpcore.AsyncHTTPConnection, stack: deque[httpcore.AsyncHTTPConnection]
    ) -> None:
        self._free_slot()
        if connection.is_idle() and self._idle_count < self._keep and not self._closed:
            stack.append(connection)
            self._idle_count += 1
            self._sweep_later()
        else:
            await connection.aclose()

    def _sweep_later(self) -> None:
        if self._sweep is None and self._keepalive_expiry is not None:
            self._sweep = asyncio.get_running_loop().call_later(
                self._keepalive_expiry, self._start_sweep
            )

    def _start_sweep(self) -> None:
        self._sweep = None
        self._sweeping = asyncio.ensure_future(self._close_expired())

    async def _close_expired(self) -> None:
        # Oldest first in each stack: once one has not expired, those after it have not either
        # (a connection the server closed meanwhile is found when a request takes it).
        for stack in list(self._idle.values()):  # a request may add an origin meanwhile
            while stack and stack[0].has_expired():
                self._idle_count -= 1
                await stack.popleft().aclose()
        if self._idle_count:
            self._sweep_later()


class _GivenBack:
    """The response's body; closing it (once) hands the connection back."""

    def __init__(self, stream, give_back):
        self._stream = stream
        self._give_back = give_back

    def __aiter__(self) -> AsyncIterator[bytes]:
        # The connection's own iterator: one generator less for every part read.
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        give_back, self._give_back = self._give_back, None
        try:
            await self._stream.aclose()
        finally:
            if give_back is not None:
                await give_back()
