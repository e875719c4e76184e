"""The operator's surface under /admin: off unless configured, and behind a bearer token.

Every route under the mount goes through `BearerTokenGuard`, so a page or endpoint added to
`AdminSurface.routes` by a later feature cannot be reached without the token by mistake.
Nothing here may return a secret: the routes show counts and states, never configuration.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from application.ports import StoreStatistics

log = logging.getLogger(__name__)

ADMIN_PREFIX = "/admin"


class BearerTokenGuard:
    """ASGI middleware: `Authorization: Bearer <token>` or 401, the token compared in
    constant time (the scheme name, as HTTP says, in any case)."""

    def __init__(self, app: ASGIApp, token: str):
        if not token:
            raise ValueError("the admin surface needs a bearer token")
        self._app = app
        self._expected = _digest(token.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        presented = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, token = presented.strip().partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(
            _digest(token.strip()), self._expected
        ):
            await self._app(scope, receive, send)
            return
        client = scope.get("client") or ("?",)
        log.warning(
            "admin request from %s to %s refused with 401: %s",
            client[0], scope.get("path", "?"),
            "wrong bearer token" if presented else "no bearer token",
        )
        refusal = PlainTextResponse(
            "unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
        await refusal(scope, receive, send)


def _digest(value: bytes) -> bytes:
    # Comparing digests of equal length keeps even the token's length from timing.
    return hashlib.sha256(value).digest()


class AdminSurface:
    def __init__(
        self, bearer_token: str, read_statistics: Callable[[], Awaitable[StoreStatistics]]
    ):
        self._token = bearer_token
        self._read_statistics = read_statistics

    def routes(self) -> list[BaseRoute]:
        return [Route("/api/stats", self.stats, methods=["GET"])]

    def mount(self) -> Mount:
        return Mount(
            ADMIN_PREFIX,
            routes=self.routes(),
            middleware=[Middleware(BearerTokenGuard, token=self._token)],
        )

    async def stats(self, _: Request) -> JSONResponse:
        stats = await self._read_statistics()
        return JSONResponse(
            {
                "events_by_type": dict(sorted(stats.events_by_type.items())),
                "pending_messages": stats.pending_messages,
            }
        )
