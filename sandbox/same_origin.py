"""Keeping other web pages away from the emulator. It listens on 127.0.0.1 only, but a page
the developer opens elsewhere can still make the browser send it requests: a cross-site POST
(a chat that, under `--sandbox --config`, spends real model credit), or, through DNS
rebinding (a name of the attacker's that now resolves to 127.0.0.1), reads of the chat log.

- Host must name this machine (127.0.0.1 or localhost): a rebound name is refused (400).
- A request that changes something must come from the emulator's own page: an `Origin`, when
  the browser sends one (it does on every cross-site POST), must be this host's, and
  `Sec-Fetch-Site`, when sent, must say same-origin (403 otherwise). Clients that are not
  browsers (the service, tests, curl) send neither.
- Chat messages must be `application/json` (member_api), which no cross-site form can send
  without the browser asking first.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOCAL_HOSTS = ["127.0.0.1", "localhost"]
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class SameOriginWrites:
    def __init__(self, app: ASGIApp):
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in _SAFE_METHODS:
            headers = dict(scope["headers"])
            origin = headers.get(b"origin")
            site = headers.get(b"sec-fetch-site")
            host = headers.get(b"host", b"")
            if (origin is not None and origin != b"http://" + host) or (
                site is not None and site not in (b"same-origin", b"none")
            ):
                refusal = PlainTextResponse("only the emulator's own page may do that", 403)
                await refusal(scope, receive, send)
                return
        await self._app(scope, receive, send)


def same_origin_only() -> list[Middleware]:
    return [
        Middleware(TrustedHostMiddleware, allowed_hosts=LOCAL_HOSTS),
        Middleware(SameOriginWrites),
    ]
