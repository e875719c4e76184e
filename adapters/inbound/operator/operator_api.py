"""The operator's view under /admin: a JSON API behind the bearer token, and a static page
that calls it. The page's files hold no data, so they are served without the token (a
browser cannot send a bearer token when it opens a URL); the page asks for the token once
and keeps it in sessionStorage, which the tab forgets when it is closed."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.inbound.operator.admin import ADMIN_PREFIX
from adapters.inbound.operator.operator_json import (
    channel_json,
    conversation_json,
    errors_json,
    message_json,
    token_json,
)
from application.operator.operator_view import MAX_PAGE, OperatorView
from application.pipeline.channel import UnknownChannel

PAGE_DIR = Path(__file__).with_name("operator_page")
_PAGE_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/operator.js": ("operator.js", "text/javascript; charset=utf-8"),
    "/operator.css": ("operator.css", "text/css; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
}
# The page runs only its own script and talks only to its own origin; nothing may frame it.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_MAX_QUERY_CHARS = 255


class BadQuery(ValueError):
    pass


class OperatorPages:
    def __init__(self, view: OperatorView):
        self._view = view

    @property
    def public_paths(self) -> list[str]:
        return [ADMIN_PREFIX + path for path in _PAGE_FILES]

    def routes(self) -> list[BaseRoute]:
        api = [
            Route("/api/conversations", self.conversations, methods=["GET"]),
            Route("/api/messages", self.messages, methods=["GET"]),
            Route("/api/messages/{msg_id}", self.message, methods=["GET"]),
            Route("/api/search", self.search, methods=["GET"]),
            Route("/api/wecom-errors", self.wecom_errors, methods=["GET"]),
            Route("/api/token", self.token, methods=["GET"]),
            Route("/api/channels", self.channels, methods=["GET"]),
        ]
        pages = [Route(path, self.page, methods=["GET"]) for path in _PAGE_FILES]
        return api + pages

    async def page(self, request: Request) -> Response:
        name, media_type = _PAGE_FILES[request.url.path.removeprefix(ADMIN_PREFIX)]
        return FileResponse(PAGE_DIR / name, media_type=media_type, headers=_PAGE_HEADERS)

    async def conversations(self, request: Request) -> Response:
        try:
            limit = _int(request, "limit", 50)
            found = await self._view.conversations(limit, _text(request, "channel"))
        except BadQuery as err:
            return _bad(err)
        except UnknownChannel as err:
            return _unknown(err)
        return JSONResponse({"conversations": [conversation_json(c) for c in found]})

    async def messages(self, request: Request) -> Response:
        """?conversation=…, ?user=… or ?channel=… (or none: every conversation), newest first;
        a page continues with ?before=<next_before of the previous page>."""
        try:
            limit = _int(request, "limit", 50)
            reports = await self._view.messages(
                limit,
                before_position=_int(request, "before", None),
                conversation_id=_text(request, "conversation"),
                from_user=_text(request, "user"),
                channel=_text(request, "channel"),
            )
        except BadQuery as err:
            return _bad(err)
        except UnknownChannel as err:
            return _unknown(err)
        full_page = len(reports) == min(limit, MAX_PAGE)
        return JSONResponse(
            {
                "messages": [message_json(report) for report in reports],
                "next_before": reports[-1].entry.position if reports and full_page else None,
            }
        )

    async def message(self, request: Request) -> Response:
        """One message by its MsgId (?channel=… when two channels have one MsgId): its status,
        why, and timeline (the sandbox asks this)."""
        msg_id = request.path_params["msg_id"]
        try:
            reports = await self._view.messages(
                MAX_PAGE, msg_id=msg_id[:_MAX_QUERY_CHARS], channel=_text(request, "channel")
            )
        except BadQuery as err:
            return _bad(err)
        except UnknownChannel as err:
            return _unknown(err)
        if not reports:
            return JSONResponse({"error": f"no message with MsgId {msg_id!r}"}, 404)
        return JSONResponse({"messages": [message_json(report) for report in reports]})

    async def search(self, request: Request) -> Response:
        try:
            query = _text(request, "q") or ""
            reports = await self._view.search(query, _int(request, "limit", 50))
        except BadQuery as err:
            return _bad(err)
        return JSONResponse({"messages": [message_json(report) for report in reports]})

    async def wecom_errors(self, _: Request) -> Response:
        return JSONResponse(errors_json(await self._view.wecom_errors()))

    async def token(self, request: Request) -> Response:
        """The access token of ?channel=… (default: the first app); null for a bot."""
        try:
            report = await self._view.token(_text(request, "channel"))
        except BadQuery as err:
            return _bad(err)
        except UnknownChannel as err:
            return _unknown(err)
        return JSONResponse(None if report is None else token_json(report))

    async def channels(self, _: Request) -> Response:
        reports = await self._view.channels()
        return JSONResponse({"channels": [channel_json(report) for report in reports]})


def _int(request: Request, name: str, default: int | None) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise BadQuery(f"{name} must be a whole number")
    return int(value)


def _text(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is not None and len(value) > _MAX_QUERY_CHARS:
        raise BadQuery(f"{name} is longer than {_MAX_QUERY_CHARS} characters")
    return value or None


def _bad(err: BadQuery) -> Response:
    return JSONResponse({"error": str(err)}, 400)


def _unknown(err: UnknownChannel) -> Response:
    return JSONResponse({"error": f"no channel named {str(err)[:_MAX_QUERY_CHARS]!r}"}, 404)
