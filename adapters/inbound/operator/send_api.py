"""POST /admin/api/send: a message the company sends first, exactly once per idempotency key;
GET /admin/api/announcements: the newest ones with how each went (for the operator's view).

    {"channel": "app:hr", "to_users": ["zhangsan"], "to_departments": [2], "to_tags": [],
     "msgtype": "text", "content": "…", "idempotency_key": "digest-2026-01-31"}

200: sent (recipients WeCom could not reach are listed, not an error); 502: WeCom did not
take it (the reason is in `error`); 202: a request with this key is still sending; a retried
request gets the first one's answer, with `"replayed": true`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from application.announcements.send_announcement import (
    Announcement,
    CannotSendFirst,
    KeyReused,
    SendAnnouncement,
)
from application.operator.operator_view import OperatorStore
from application.pipeline.channel import UnknownChannel
from application.ports.wecom import Recipients
from domain.announcements import FAILED, SENDING, SENT, AnnouncementOutcome, announcement_outcome
from domain.user_ids import is_user_id

_KEY = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_MAX_BODY = 64 * 1024
_MAX_CONTENT = 16 * 1024  # characters: eight parts of 2048 bytes even in CJK
# WeCom's own limits for one message/send.
_MAX_USERS, _MAX_IDS = 1000, 100
_HTTP_STATUS = {SENT: 200, FAILED: 502, SENDING: 202}
_LISTED = 50
_MAX_LISTED = 200


class BadSend(ValueError):
    pass


class SendApi:
    def __init__(self, send: SendAnnouncement, store: OperatorStore):
        self._send = send
        self._store = store

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/send", self.send, methods=["POST"]),
            Route("/api/announcements", self.announcements, methods=["GET"]),
        ]

    async def send(self, request: Request) -> Response:
        client = request.client.host if request.client else ""
        try:
            announcement = _announcement(await request.body(), client)
            outcome, first = await self._send(announcement)
        except BadSend as err:
            return JSONResponse({"error": str(err)}, 400)
        except UnknownChannel as err:
            return JSONResponse({"error": f"no channel named {str(err)[:64]!r}"}, 404)
        except CannotSendFirst as err:
            return JSONResponse(
                {"error": f"{err} cannot send first: an AI bot in callback mode only answers"},
                400,
            )
        except KeyReused:
            return JSONResponse(
                {"error": "this idempotency_key was used for a different message"}, 409
            )
        body = announcement_json(outcome) | {"replayed": not first}
        return JSONResponse(body, _HTTP_STATUS[outcome.status])

    async def announcements(self, request: Request) -> Response:
        limit = request.query_params.get("limit") or str(_LISTED)
        if not (limit.isascii() and limit.isdigit()) or len(limit) > 4:
            return JSONResponse({"error": "limit must be a whole number"}, 400)
        requested = await self._store.announcements(max(1, min(_MAX_LISTED, int(limit))))
        streams = await self._store.read_streams([event.stream_id for event in requested])
        return JSONResponse(
            {
                "announcements": [
                    announcement_json(announcement_outcome(streams[event.stream_id]))
                    for event in requested
                ]
            }
        )


def announcement_json(outcome: AnnouncementOutcome) -> dict[str, Any]:
    requested = outcome.requested
    return {
        "idempotency_key": requested.stream_id.removeprefix("announce:"),
        "channel": requested.channel,
        "requested_at": requested.occurred_at,
        "to_users": list(requested.to_users),
        "to_departments": list(requested.to_departments),
        "to_tags": list(requested.to_tags),
        "msgtype": requested.msgtype,
        "content": requested.content,
        "status": outcome.status,
        "parts": len(requested.parts),
        "sent_parts": outcome.sent_parts,
        "invalid_users": list(outcome.invalid_users),
        "invalid_departments": list(outcome.invalid_departments),
        "invalid_tags": list(outcome.invalid_tags),
        "error": outcome.error,
        "errcode": outcome.errcode,
    }


def _announcement(raw: bytes, client: str) -> Announcement:
    if len(raw) > _MAX_BODY:
        raise BadSend(f"the body is larger than {_MAX_BODY} bytes")
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadSend("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadSend("the body must be a JSON object")
    key = body.get("idempotency_key")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise BadSend("idempotency_key must be 1-128 of A-Z a-z 0-9 . _ : -")
    recipients = Recipients(
        users=_listed(body, "to_users", str, _MAX_USERS),
        departments=_listed(body, "to_departments", int, _MAX_IDS),
        tags=_listed(body, "to_tags", int, _MAX_IDS),
    )
    if not (recipients.users or recipients.departments or recipients.tags):
        raise BadSend("name at least one recipient in to_users, to_departments or to_tags")
    msgtype = body.get("msgtype", "text")
    if msgtype not in ("text", "markdown"):
        raise BadSend('msgtype must be "text" or "markdown"')
    content = body.get("content")
    if not isinstance(content, str) or not content.strip() or len(content) > _MAX_CONTENT:
        raise BadSend(f"content must be text of 1 to {_MAX_CONTENT} characters")
    channel = body.get("channel")
    if not isinstance(channel, str):
        raise BadSend('channel must name a channel, such as "app:default"')
    return Announcement(key, channel, recipients, msgtype, content, client)


def _listed(body: dict, name: str, kind: type, most: int) -> tuple:
    values = body.get(name, [])
    valid = (
        isinstance(values, list)
        and len(values) <= most
        and all(
            type(value) is kind and (is_user_id(value) if kind is str else value > 0)
            for value in values
        )
    )
    if not valid:
        what = "UserIDs" if kind is str else "positive ids"
        raise BadSend(f"{name} must be a list of at most {most} {what}")
    return tuple(dict.fromkeys(values))
