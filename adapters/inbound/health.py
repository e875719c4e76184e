"""Health for start-up scripts and load balancers, and metrics for Prometheus.

/healthz: the process is up (Starlette serves requests only after start-up finished, so
answering at all means callbacks are accepted). /readyz: the store answers and WeCom's token
is usable or has not been needed yet; it reports the last token error without calling gettoken,
whose calls WeCom rations. /metrics: Prometheus text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from application.ports.wecom import TokenStatus

log = logging.getLogger(__name__)


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


TokenStatusReader = Callable[[], Awaitable[TokenStatus]]


class Readiness:
    """`token_statuses`: each channel's access-token reader, by channel name; None for a
    channel without a token (an AI bot)."""

    def __init__(
        self,
        ping_store: Callable[[], Awaitable[None]],
        token_statuses: Mapping[str, TokenStatusReader | None],
        clock: Callable[[], float] = time.time,
    ):
        self._ping_store = ping_store
        self._token_statuses = token_statuses
        self._clock = clock

    async def readyz(self, _: Request) -> JSONResponse:
        try:
            await self._ping_store()
            store = "ok"
        except Exception as err:
            log.warning("readiness: the event store does not answer (%s)", type(err).__name__)
            store = "unreachable"
        channels = {
            name: await self._channel(read) for name, read in self._token_statuses.items()
        }
        failing = any(channel.get("token") == "failing" for channel in channels.values())
        ready = store == "ok" and not failing
        body = {"status": "ready" if ready else "not ready", "store": store, "channels": channels}
        # The first app's token, as /readyz reported it before there were several channels.
        first_app = next((c for c in channels.values() if "token" in c), None)
        if first_app is not None:
            body["wecom"] = first_app
        return JSONResponse(body, status_code=200 if ready else 503)

    async def _channel(self, read_token: TokenStatusReader | None) -> dict[str, object]:
        if read_token is None:
            return {"callbacks": "signed by WeCom, no access token needed"}
        token = await read_token()
        if token.valid_until is not None and token.valid_until > self._clock():
            return {"token": "valid", "expires_in": int(token.valid_until - self._clock())}
        if token.last_error:
            return {"token": "failing", "last_error": token.last_error}
        return {"token": "not fetched yet"}


def routes(readiness: Readiness, render_metrics: Callable[[], bytes], metrics_type: str):
    async def metrics(_: Request) -> Response:
        return Response(render_metrics(), media_type=metrics_type)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readiness.readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
