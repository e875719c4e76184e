"""An httpx transport that spreads requests over several small connection pools.

httpcore looks at every connection of its pool, and at every queued request against each of
them, whenever a request starts or ends. With the hundreds of connections a burst opens to
the model (or the hundred to WeCom, with requests queued behind them) that bookkeeping was
about a fifth of the service's CPU in a burst (BENCHMARKS.md, issue 13's third round).
Several pools of a few dozen connections each do the same work with short scans.
"""

from __future__ import annotations

import itertools
import math
from urllib.request import getproxies

import httpx

# A burst's thousand calls at the model then scan about 125 connections each, not 1,000.
POOLS = 8


def pooled_client(
    timeout: float, max_connections: int | None, max_keepalive_connections: int
) -> httpx.AsyncClient:
    """An AsyncClient whose bounds (None: unbounded) are shared out over POOLS pools, each
    pool's share rounded up. With a proxy in the environment (HTTPS_PROXY, ALL_PROXY, …),
    httpx's own single pool: httpx follows those variables, NO_PROXY included, only for a
    client without a transport of its own, and every call then goes to the proxy anyway."""
    if getproxies():
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_keepalive_connections
        )
        return httpx.AsyncClient(timeout=timeout, limits=limits)
    return httpx.AsyncClient(
        timeout=timeout,
        transport=PooledTransport(POOLS, max_connections, max_keepalive_connections),
    )


class PooledTransport(httpx.AsyncBaseTransport):
    """Requests go to the pools in turn: each pool keeps its own connections alive."""

    def __init__(self, pools: int, max_connections: int | None, max_keepalive_connections: int):
        per_pool = httpx.Limits(
            max_connections=None if max_connections is None else math.ceil(max_connections / pools),
            max_keepalive_connections=math.ceil(max_keepalive_connections / pools),
        )
        self._pools = [httpx.AsyncHTTPTransport(limits=per_pool) for _ in range(pools)]
        self._turns = itertools.cycle(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await next(self._turns).handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()
