"""The operator's surface under /admin: off unless configured, and behind a bearer token.

Every route under the mount goes through `BearerTokenGuard`, so a page or endpoint added to
`AdminSurface.routes` by a later feature cannot be reached without the token by mistake. The
only exceptions are the `public_paths` named at construction: the static files of the
operator's page, which hold no data (the page asks for the token and sends it to the API).
Nothing here may return a secret: the routes show counts and states, never configuration.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.inbound.operator.failed_attempts import FailedAttempts
from application.ports.operator_reads import StoreStatistics

log = logging.getLogger(__name__)

ADMIN_PREFIX = "/admin"


class BearerTokenGuard:
    """ASGI middleware: `Authorization: Bearer <token>` or 401, the token compared in
    constant time (the scheme name, as HTTP says, in any case). An address that keeps failing
    is answered 429 for a while (`failures`, shared by every guard of one surface). The
    `read_only_token`, when there is one, opens GET and HEAD only (dashboards): anything else
    with it is 403, so it can neither erase nor send."""

    def __init__(
        self,
        app: ASGIApp,
        token: str,
        public_paths: Collection[str] = (),
        failures: FailedAttempts | None = None,
        read_only_token: str | None = None,
    ):
        if not token:
            raise ValueError("the admin surface needs a bearer token")
        self._app = app
        self._expected = _digest(token.encode())
        self._read_only = _digest(read_only_token.encode()) if read_only_token else None
        self._public = frozenset(public_paths)
        self._failures = failures or FailedAttempts()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            scope["method"] in ("GET", "HEAD") and scope["path"] in self._public
        ):
            await self._app(scope, receive, send)
            return
        client = (scope.get("client") or ("?",))[0]
        wait = self._failures.retry_after(client)
        if wait is not None:
            self._refused(scope, client, 429, "too many failed bearer tokens")
            retry = str(max(1, round(wait)))
            refusal = PlainTextResponse("too many requests", 429, {"Retry-After": retry})
            await refusal(scope, receive, send)
            return
        presented = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, token = presented.strip().partition(b" ")
        digest = _digest(token.strip()) if scheme.lower() == b"bearer" else b""
        reads_only = self._read_only is not None and hmac.compare_digest(digest, self._read_only)
        if hmac.compare_digest(digest, self._expected) or (
            reads_only and scope["method"] in ("GET", "HEAD")
        ):
            await self._app(scope, receive, send)
            return
        if reads_only:
            why = f"the read-only token cannot {scope['method']}"
            self._refused(scope, client, 403, why)
            refusal = PlainTextResponse("the read-only token can only read", status_code=403)
            await refusal(scope, receive, send)
            return
        self._failures.failed(client)
        self._refused(scope, client, 401, "wrong bearer token" if presented else "no bearer token")
        refusal = PlainTextResponse(
            "unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
        await refusal(scope, receive, send)

    @staticmethod
    def _refused(scope: Scope, client: str, status: int, why: str) -> None:
        # Anyone can send these: the log samples them by kind (infrastructure's RepeatedLines).
        log.warning(
            "admin request from %s to %s refused with %d: %s",
            client, scope.get("path", "?"), status, why,
            extra={"repeat_key": ("admin refused", status, why)},
        )


def _digest(value: bytes) -> bytes:
    # Comparing digests of equal length keeps even the token's length from timing.
    return hashlib.sha256(value).digest()


class AdminSurface:
    def __init__(
        self,
        bearer_token: str,
        read_statistics: Callable[[], Awaitable[StoreStatistics]],
        more_routes: Sequence[BaseRoute] = (),
        public_paths: Collection[str] = (),
        read_only_token: str | None = None,
    ):
        """`public_paths` (full paths, e.g. "/admin/") are served without the token; the
        `read_only_token` opens GET and HEAD only."""
        self._token = bearer_token
        self._read_only_token = read_only_token
        self._read_statistics = read_statistics
        self._more_routes = list(more_routes)
        self._public_paths = public_paths
        # One count of failed tokens per address for the surface and anything else it guards.
        self._failures = FailedAttempts()

    def routes(self) -> list[BaseRoute]:
        return [Route("/api/stats", self.stats, methods=["GET"]), *self._more_routes]

    def mount(self) -> Mount:
        guard = Middleware(
            BearerTokenGuard,
            token=self._token,
            public_paths=self._public_paths,
            failures=self._failures,
            read_only_token=self._read_only_token,
        )
        return Mount(ADMIN_PREFIX, routes=self.routes(), middleware=[guard])

    def guard(self) -> Middleware:
        """The same token check for routes outside /admin (readiness and metrics)."""
        return Middleware(
            BearerTokenGuard,
            token=self._token,
            failures=self._failures,
            read_only_token=self._read_only_token,
        )

    async def stats(self, _: Request) -> JSONResponse:
        stats = await self._read_statistics()
        return JSONResponse(
            {
                "events_by_type": dict(sorted(stats.events_by_type.items())),
                "pending_messages": stats.pending_messages,
            }
        )
