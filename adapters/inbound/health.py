"""Health for start-up scripts and load balancers, and metrics for Prometheus.

/healthz: the process is up (Starlette serves requests only after start-up finished, so
answering at all means callbacks are accepted); public, and touches nothing. /readyz: whether
callbacks can be recorded, judged from the same write path they use (the latest append's
outcome and the spool's state, beside a ping), and whether WeCom's token is usable or has not
been needed yet. While the store is unavailable but the spool takes messages the service is
"degraded" (200: callbacks are accepted); with nowhere to write it is "not ready" (503). Any
failure of a check is reported as such, never as a 500. It reports a failing
token without calling gettoken, whose calls WeCom rations, and without WeCom's words (for
60020 they name the server's IP: the reason is in the log and the admin API). /metrics:
Prometheus text. The container puts /readyz and /metrics behind the admin token when the admin
surface is on (SECURITY.md).

Low disk space where the service writes (`storage.min_free_mib`) makes it "degraded" with
ACTION NEEDED, once a minute in the log too: a full disk would otherwise show only when the
next message cannot be recorded.

A bot over the long connection reports its link's state (why it is down is in the log and
the admin API); one that WeCom refused, or that another deployment took over, makes the
service not ready: only the operator can fix it.

Readiness is worked out at most once per `cache_seconds`, however many ask: 100 /readyz a
second each pinging the store raised callback acks from 7 ms to 100-700 ms on SQLite's one
connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.inbound.callback.clock_skew import ClockSkew
from application.pipeline.spooled_intake import IntakeState
from application.ports.aibot_link import NEEDS_OPERATOR, LinkStatus
from application.ports.wecom import TokenStatus

log = logging.getLogger(__name__)
alerts = logging.getLogger("weworktop.operator")


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
        cache_seconds: float = 5.0,
        link_statuses: Mapping[str, Callable[[], LinkStatus]] | None = None,
        clock_skew: Callable[[], ClockSkew | None] = lambda: None,
        intake_state: Callable[[], IntakeState] | None = None,
        disk_shortage: Callable[[], tuple[str, Path] | None] = lambda: None,
    ):
        self._ping_store = ping_store
        self._disk_shortage = disk_shortage
        self._clock_skew = clock_skew
        self._intake_state = intake_state
        self._token_statuses = token_statuses
        self._clock = clock
        self._link_statuses = link_statuses or {}
        self._cache_seconds = cache_seconds
        # The answer being worked out or last worked out, and until when it is good.
        self._answer: asyncio.Task[tuple[dict, int]] | None = None
        self._good_until = 0.0

    async def readyz(self, _: Request) -> JSONResponse:
        now = self._clock()
        if self._answer is None or (self._answer.done() and now >= self._good_until):
            self._answer = asyncio.ensure_future(self._check())
            self._good_until = now + self._cache_seconds
        # Shielded: a caller that goes away must not cancel the others' answer.
        body, status = await asyncio.shield(self._answer)
        return JSONResponse(body, status_code=status)

    async def _check(self) -> tuple[dict, int]:
        store = await self._store()
        intake = self._intake()
        channels = {
            name: await self._channel_or_unknown(name, read)
            for name, read in self._token_statuses.items()
        }
        failing = any(
            channel.get("token") == "failing" or channel.get("link") in NEEDS_OPERATOR
            for channel in channels.values()
        )
        skew = self._clock_skew()
        disk = await self._disk()
        writable = store == "ok" and intake.store_failing_since is None
        if failing or skew is not None or not (writable or intake.spool_refusing is None):
            status = "not ready"
        elif writable and not intake.spooled and disk is None:
            status = "ready"
        else:
            status = "degraded"
        body: dict[str, object] = {"status": status, "store": store, "channels": channels}
        body.update(self._intake_body(intake))
        if disk is not None:
            body["disk"] = f"ACTION NEEDED: {disk}"
        if skew is not None:
            body["clock"] = (
                f"ACTION NEEDED: {skew.describe()}; WeCom's callbacks are refused (403) "
                "until it is set right"
            )
        # The first app's token, as /readyz reported it before there were several channels.
        first_app = next((c for c in channels.values() if "token" in c), None)
        if first_app is not None:
            body["wecom"] = first_app
        return body, 503 if status == "not ready" else 200

    async def _store(self) -> str:
        try:
            await self._ping_store()
        except Exception as err:
            log.warning(
                "readiness: the event store does not answer (%s)",
                type(err).__name__,
                extra={"repeat_key": ("readiness", "store", type(err).__name__)},
            )
            return "unreachable"
        return "ok"

    async def _disk(self) -> str | None:
        # In a thread: statfs on a network mount that stopped answering would hold the loop.
        shortage = await asyncio.to_thread(self._disk_shortage)
        if shortage is None:
            return None
        words, folder = shortage
        alerts.warning(
            "ACTION NEEDED: %s (%s)", words, folder, extra={"repeat_key": ("readiness", "disk")}
        )
        return words

    def _intake(self) -> IntakeState:
        if self._intake_state is None:
            return IntakeState(spooled=0, store_failing_since=None, spool_refusing="no spool")
        return self._intake_state()

    def _intake_body(self, intake: IntakeState) -> dict[str, object]:
        if self._intake_state is None:
            return {}
        body: dict[str, object] = {"spooled": intake.spooled}
        if intake.store_failing_since is not None:
            body["writes_failing_for"] = int(self._clock() - intake.store_failing_since)
        if intake.spool_refusing is not None:
            body["spool"] = "refusing: callbacks get 503"
        elif intake.store_failing_since is not None or intake.spooled:
            body["spool"] = "accepting callbacks while the store cannot"
        return body

    async def _channel_or_unknown(
        self, name: str, read_token: TokenStatusReader | None
    ) -> dict[str, object]:
        # The token's state is read from the store: while it is down, it is not known.
        try:
            return await self._channel(name, read_token)
        except Exception as err:
            log.warning(
                "readiness: could not read the state of %s (%s)",
                name,
                type(err).__name__,
                extra={"repeat_key": ("readiness", name, type(err).__name__)},
            )
            return {"token": "unknown"}

    async def _channel(
        self, name: str, read_token: TokenStatusReader | None
    ) -> dict[str, object]:
        if name in self._link_statuses:
            link = self._link_statuses[name]()
            return {"link": link.state, "since": link.since}
        if read_token is None:
            return {"callbacks": "signed by WeCom, no access token needed"}
        token = await read_token()
        if token.valid_until is not None and token.valid_until > self._clock():
            return {"token": "valid", "expires_in": int(token.valid_until - self._clock())}
        if token.last_error:
            return {"token": "failing"}
        return {"token": "not fetched yet"}


def routes(
    readiness: Readiness,
    render_metrics: Callable[[], bytes],
    metrics_type: str,
    guard: Sequence[Middleware] = (),
):
    """`guard`: middleware in front of /readyz and /metrics (the admin token check)."""

    async def metrics(_: Request) -> Response:
        return Response(render_metrics(), media_type=metrics_type)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readiness.readyz, methods=["GET"], middleware=guard),
        Route("/metrics", metrics, methods=["GET"], middleware=guard),
    ]
