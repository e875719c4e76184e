"""Health for start-up scripts and load balancers, and metrics for Prometheus.

/healthz: the process is up (Starlette serves requests only after start-up finished, so
answering at all means callbacks are accepted). /readyz: the store answers and WeCom's token
is usable or has not been needed yet; it reports the last token error without calling gettoken,
whose calls WeCom rations. /metrics: Prometheus text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from application.ports.wecom import TokenStatus

log = logging.getLogger(__name__)


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


class Readiness:
    def __init__(
        self,
        ping_store: Callable[[], Awaitable[None]],
        token_status: Callable[[], Awaitable[TokenStatus]],
        clock: Callable[[], float] = time.time,
    ):
        self._ping_store = ping_store
        self._token_status = token_status
        self._clock = clock

    async def readyz(self, _: Request) -> JSONResponse:
        try:
            await self._ping_store()
            store = "ok"
        except Exception as err:
            log.warning("readiness: the event store does not answer (%s)", type(err).__name__)
            store = "unreachable"
        token = await self._token_status()
        if token.valid_until is not None and token.valid_until > self._clock():
            wecom = {"token": "valid", "expires_in": int(token.valid_until - self._clock())}
        elif token.last_error:
            wecom = {"token": "failing", "last_error": token.last_error}
        else:
            wecom = {"token": "not fetched yet"}
        ready = store == "ok" and wecom["token"] != "failing"
        body = {"status": "ready" if ready else "not ready", "store": store, "wecom": wecom}
        return JSONResponse(body, status_code=200 if ready else 503)


def routes(readiness: Readiness, render_metrics: Callable[[], bytes], metrics_type: str):
    async def metrics(_: Request) -> Response:
        return Response(render_metrics(), media_type=metrics_type)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readiness.readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
