"""The servers around the service under test, each run in its own process:

    python -m bench.helper_apps bare   --port P
    python -m bench.helper_apps wecom  --port P --corp-secret S [--expires-in SECONDS]
    python -m bench.helper_apps openai --port P [--delay SECONDS] [--stream-delay SECONDS]
                                       [--max-concurrent N] [--retry-after SECONDS]
    python -m bench.helper_apps aibot  --port P --bot-id ID --bot-secret S
    python -m bench.helper_apps wsecho --port P

In their own processes they do not share an interpreter (and its GIL) with the load generator,
so the generator's clock measures the service, not a stand-in's turn on the GIL. Each serves
GET /_bench/stats for the benchmark to read what happened.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from http import HTTPStatus
from typing import Any

import uvicorn
import uvloop
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve

from tests.standins.openai_standin import OpenAIStandIn
from wecom_emulator import BotReply, WeComEmulator

BARE_PATH = "/bare"
BENCH_CORP_ID = "wwbench0123456789ab"
BENCH_AGENT_ID = 1000002


def serve_like_the_service(app: Any, port: int) -> None:
    """uvicorn as app.py runs it (infrastructure/server_options.py): the loop on "auto"
    (uvloop), the h11 parser, which bounds a request's headers."""
    uvicorn.run(app, host="127.0.0.1", port=port, http="h11", log_config=None, access_log=False)


def with_stats(app: Any, stats: Any) -> Any:
    """`app` as it is, plus GET /_bench/stats answered by the `stats` endpoint."""
    stats_app = Starlette(routes=[Route("/_bench/stats", stats, methods=["GET"])])

    async def either(scope, receive, send) -> None:
        wanted = scope["type"] == "http" and scope["path"] == "/_bench/stats"
        await (stats_app if wanted else app)(scope, receive, send)

    return either


def bare_app() -> Any:
    """The baseline for callback intake: the same framework and server, and no work at all.
    It reads the body, because no real endpoint can answer before it has read the request."""

    async def acknowledge(request: Request) -> Response:
        await request.body()
        return Response(status_code=200)

    async def stats(_: Request) -> JSONResponse:
        return JSONResponse({})

    return Starlette(
        routes=[
            Route(BARE_PATH, acknowledge, methods=["POST"]),
            Route("/_bench/stats", stats, methods=["GET"]),
        ]
    )


class ArrivalClock:
    """ASGI middleware in front of the WeCom emulator: when each message/send arrived.

    The emulator answers a send with its msgid, which `sent` also carries, so the arrival time
    is taken when the request comes in and filed under the msgid read from the answer.
    """

    def __init__(self, app: Any):
        self._app = app
        self.arrived: dict[str, float] = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/message/send"):
            await self._app(scope, receive, send)
            return
        arrived = time.monotonic()
        body = bytearray()

        async def keep_body(message) -> None:
            if message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
            await send(message)

        await self._app(scope, receive, keep_body)
        msgid = _json_field(bytes(body), "msgid")
        if msgid:
            self.arrived[msgid] = arrived


def _json_field(raw: bytes, name: str) -> str | None:
    try:
        return json.loads(raw).get(name)
    except (ValueError, AttributeError):
        return None


def wecom_app(corp_secret: str, expires_in: int) -> Any:
    wecom = WeComEmulator(
        corp_id=BENCH_CORP_ID,
        corp_secret=corp_secret,
        agent_id=BENCH_AGENT_ID,
        expires_in=expires_in,
    )
    clock = ArrivalClock(wecom.app)

    async def stats(_: Request) -> JSONResponse:
        # time.monotonic() is the system's CLOCK_MONOTONIC, comparable across processes.
        sent = [
            {"touser": m.touser, "content": m.content, "arrived": clock.arrived.get(m.msgid)}
            for m in wecom.sent
        ]
        return JSONResponse({"gettoken_calls": wecom.gettoken_calls, "sent": sent})

    return with_stats(clock, stats)


def openai_app(
    delay: float, stream_delay: float, max_concurrent: int | None, retry_after: float
) -> Any:
    standin = OpenAIStandIn(
        delay=delay,
        stream_delay=stream_delay,
        max_concurrent=max_concurrent,
        retry_after=retry_after,
    )

    async def stats(_: Request) -> JSONResponse:
        chunks = [
            {"question": q, "so_far": text, "sent": at, "end": end}
            for q, text, at, end in standin.chunks
        ]
        return JSONResponse(
            {
                "requests": len(standin.requests),
                "chunks": chunks,
                "peak_concurrency": standin.peak_concurrency,
                "busy_refusals": standin.busy_refusals,
            }
        )

    return with_stats(standin.app, stats)


def aibot_app(bot_id: str, bot_secret: str) -> Any:
    """The WeCom emulator serving one AI bot's long connection, noting when each of the bot's
    frames and messages arrived; the benchmark pushes members' messages and drops the link
    through POST /_bench/push and /_bench/drop."""
    arrived: list[dict[str, Any]] = []

    def note(reply: BotReply) -> None:
        arrived.append({
            "msgid": reply.msgid, "kind": reply.kind, "content": reply.content,
            "finish": reply.finish, "arrived": time.monotonic(),
        })

    wecom = WeComEmulator(on_aibot_reply=note)
    bot = wecom.aibots.add_bot(bot_id, bot_secret)

    async def push(request: Request) -> JSONResponse:
        said = await request.json()
        try:
            msgid = await wecom.aibots.push_text(bot, said["user"], said["content"])
        except RuntimeError as err:  # no connection at the moment
            return JSONResponse({"error": str(err)}, 409)
        return JSONResponse({"msgid": msgid})

    async def drop(_: Request) -> JSONResponse:
        await wecom.aibots.drop(bot)
        return JSONResponse({})

    async def stats(_: Request) -> JSONResponse:
        return JSONResponse({
            "connected": wecom.aibots.connected(bot), "subscribes": wecom.aibots.subscribes(bot),
            "replies": list(arrived), "violations": wecom.aibots.violations,
        })

    return Starlette(routes=[
        *wecom.routes(),
        Route("/_bench/stats", stats, methods=["GET"]),
        Route("/_bench/push", push, methods=["POST"]),
        Route("/_bench/drop", drop, methods=["POST"]),
    ])


def serve_ws_echo(port: int) -> None:
    """The baseline for frames: a bare `websockets` server that answers each text frame with
    the time it arrived (time.monotonic(), comparable across processes), and GET
    /_bench/stats over plain HTTP for the benchmark's readiness check."""

    async def echo(connection: ServerConnection) -> None:
        async for frame in connection:
            await connection.send(json.dumps({"arrived": time.monotonic(), "size": len(frame)}))

    def plain_http(connection: ServerConnection, request: Any) -> Any:
        if request.path == "/_bench/stats":
            return connection.respond(HTTPStatus.OK, "{}")
        return None

    async def forever() -> None:
        async with ws_serve(echo, "127.0.0.1", port, process_request=plain_http):
            await asyncio.get_running_loop().create_future()

    uvloop.run(forever())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["bare", "wecom", "openai", "aibot", "wsecho"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--corp-secret", default="bench-secret")
    parser.add_argument("--expires-in", type=int, default=7200)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--stream-delay", type=float, default=0.0)
    parser.add_argument("--max-concurrent", type=int, default=None)
    parser.add_argument("--retry-after", type=float, default=1.0)
    parser.add_argument("--bot-id", default="aib-bench")
    parser.add_argument("--bot-secret", default="bench-bot-secret")
    args = parser.parse_args()
    if args.kind == "wsecho":
        serve_ws_echo(args.port)
        return
    apps = {
        "bare": lambda: bare_app(),
        "wecom": lambda: wecom_app(args.corp_secret, args.expires_in),
        "openai": lambda: openai_app(
            args.delay, args.stream_delay, args.max_concurrent, args.retry_after
        ),
        "aibot": lambda: aibot_app(args.bot_id, args.bot_secret),
    }
    serve_like_the_service(apps[args.kind](), args.port)


if __name__ == "__main__":
    main()
