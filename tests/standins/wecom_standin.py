"""A stand-in for WeCom's API (gettoken, message/send of text and images, and the group chat,
member and media endpoints of tests.standins.wecom_groups_media), served by uvicorn in tests.

It behaves like WeCom where weworktop depends on it: tokens expire or get revoked (42001,
40014), a valid token is handed out again until it expires, a wrong corp id or secret is
refused, recipients outside the app are reported in `invaliduser` (81013 when none is left).
Tests script failures (`fail_next`, `fail_next_http`, `stall_next`, `expire_tokens`,
`revoke_tokens`) and then look at what arrived (`sent`, `gettoken_calls`, `send_attempts`,
`calls(endpoint)`, and for groups and media `chat_sent`, `uploads`).

Usage:
    standin = WeComStandIn(known_users={"alice"})
    with serve(standin.app) as base_url:   # tests.support.live_server.serve
        ...  # point the gateway at base_url with standin.corp_id / corp_secret / agent_id
    assert standin.contents_for("alice") == ["hello"]

uvicorn runs the app in another thread, so every piece of state is guarded by one lock.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.standins.wecom_groups_media import (
    CHAT_GET,
    CHAT_SEND,
    GROUPS_AND_MEDIA_ERRMSG,
    MEDIA_GET,
    UPLOAD,
    USER_GET,
    GroupsAndMedia,
    message_content,
)

GETTOKEN = "gettoken"
SEND = "message/send"
ENDPOINTS = (GETTOKEN, SEND, CHAT_SEND, CHAT_GET, USER_GET, UPLOAD, MEDIA_GET)

_ERRMSG = {
    -1: "system busy",
    40001: "invalid credential",
    40008: "invalid message type",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40056: "invalid agentid",
    41001: "access_token missing",
    42001: "access_token expired",
    44004: "empty content",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    47001: "data format error",
    60020: "not allow to access from your ip",
    81013: "user & party & tag all invalid",
    **GROUPS_AND_MEDIA_ERRMSG,
}


@dataclass(frozen=True)
class SentMessage:
    """One message delivered to one recipient (a message to "a|b" gives two, same msgid).
    An image message has the uploaded `media_id` and no content."""

    touser: str
    agentid: int
    content: str
    msgid: str
    media_id: str = ""


@dataclass(frozen=True)
class _Fault:
    errcode: int | None = None
    errmsg: str | None = None
    status: int | None = None
    stall_seconds: float = 0.0


class WeComStandIn(GroupsAndMedia):
    def __init__(
        self,
        *,
        corp_id: str = "wwstandin0123456789",
        corp_secret: str | None = None,
        agent_id: int = 1000002,
        expires_in: int = 7200,
        known_users: Iterable[str] | None = None,
        chats: Mapping[str, str] | None = None,
        names: Mapping[str, str] | None = None,
        media: Mapping[str, bytes] | None = None,
    ):
        """`known_users` None accepts every recipient. The secret is random unless given, so a
        test looking for it in logs cannot meet it by accident. `chats` (chatid: name), `names`
        (userid: name) and `media` (media_id: bytes) are what WeCom knows; see GroupsAndMedia."""
        self.corp_id = corp_id
        self.corp_secret = corp_secret or secrets.token_urlsafe(32)
        self.agent_id = agent_id
        self.expires_in = expires_in
        self._known_users = None if known_users is None else frozenset(known_users)
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # value -> monotonic expiry
        self._issued: list[str] = []
        self._faults: dict[str, deque[_Fault]] = {endpoint: deque() for endpoint in ENDPOINTS}
        self._calls = dict.fromkeys(ENDPOINTS, 0)
        self._sent: list[SentMessage] = []
        self._refused_content: tuple[str, int] | None = None
        self._msgids = itertools.count(1)
        self._init_groups_and_media(chats, names, media)
        self.app = Starlette(
            routes=[
                Route("/cgi-bin/gettoken", self._gettoken, methods=["GET"]),
                Route("/cgi-bin/message/send", self._send, methods=["POST"]),
                *self._groups_and_media_routes(),
            ]
        )

    @property
    def sent(self) -> list[SentMessage]:
        with self._lock:
            return list(self._sent)

    def contents_for(self, user: str) -> list[str]:
        """The text messages `user` received."""
        return [m.content for m in self.sent if m.touser == user and not m.media_id]

    def images_for(self, user: str) -> list[str]:
        """The media_ids of the images `user` received."""
        return [m.media_id for m in self.sent if m.touser == user and m.media_id]

    def calls(self, endpoint: str) -> int:
        """Every call of `endpoint` (one of ENDPOINTS), answered or not."""
        with self._lock:
            return self._calls[endpoint]

    @property
    def gettoken_calls(self) -> int:
        with self._lock:
            return self._calls[GETTOKEN]

    @property
    def send_attempts(self) -> int:
        """Every POST to message/send, accepted or not."""
        with self._lock:
            return self._calls[SEND]

    @property
    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._issued)

    def fail_next(
        self, endpoint: str, errcode: int, *, times: int = 1, errmsg: str | None = None
    ) -> None:
        """The next `times` calls of `endpoint` (one of ENDPOINTS) answer this errcode, with
        WeCom's usual errmsg unless one is given."""
        self._queue(endpoint, _Fault(errcode=errcode, errmsg=errmsg), times)

    def fail_next_http(self, endpoint: str, status: int, *, times: int = 1) -> None:
        self._queue(endpoint, _Fault(status=status), times)

    def refuse_content(self, marker: str | None, status: int = 503) -> None:
        """Until called again with None, a message containing `marker` gets HTTP `status` and
        is not delivered: an outage that hits one part of a reply and not the one before."""
        with self._lock:
            self._refused_content = None if marker is None else (marker, status)

    def stall_next(self, endpoint: str, seconds: float, *, times: int = 1) -> None:
        """The next `times` calls wait `seconds`, then are served as usual: like WeCom, a
        message whose sender gave up waiting may still be delivered."""
        self._queue(endpoint, _Fault(stall_seconds=seconds), times)

    def expire_tokens(self) -> None:
        """Every token issued so far answers 42001 from now on."""
        now = time.monotonic()
        with self._lock:
            self._tokens = {value: min(expiry, now) for value, expiry in self._tokens.items()}

    def revoke_tokens(self) -> None:
        """Every token issued so far answers 40014 from now on."""
        with self._lock:
            self._tokens.clear()

    def _queue(self, endpoint: str, fault: _Fault, times: int) -> None:
        if endpoint not in self._faults:
            raise ValueError(f"unknown endpoint {endpoint!r}; use one of {ENDPOINTS}")
        with self._lock:
            self._faults[endpoint].extend([fault] * times)

    async def _arrive(self, endpoint: str, request: Request) -> Response | None:
        """Counts the call and plays the scripted fault, if any; a response ends the call."""
        with self._lock:
            self._calls[endpoint] += 1
            fault = self._faults[endpoint].popleft() if self._faults[endpoint] else None
        if fault is None:
            return None
        if fault.stall_seconds:
            await asyncio.sleep(fault.stall_seconds)
            return None
        if fault.status is not None:
            return PlainTextResponse("stand-in scripted HTTP failure", status_code=fault.status)
        return self._error(request, fault.errcode, errmsg=fault.errmsg)

    async def _admit(self, endpoint: str, request: Request) -> Response | None:
        """Counts the call, plays the scripted fault, checks the access token as WeCom does; a
        response ends the call."""
        scripted = await self._arrive(endpoint, request)
        if scripted is not None:
            return scripted
        token = request.query_params.get("access_token")
        if not token:
            return self._error(request, 41001)
        with self._lock:
            expiry = self._tokens.get(token)
        if expiry is None:
            return self._error(request, 40014)
        if time.monotonic() >= expiry:
            return self._error(request, 42001)
        return None

    def _error(
        self, request: Request, errcode: int, errmsg: str | None = None, **extra: str
    ) -> JSONResponse:
        client_ip = request.client.host if request.client else "unknown"
        if errmsg is None:
            errmsg = (
                f"{_ERRMSG.get(errcode, 'scripted failure')}, hint: [standin], "
                f"from ip: {client_ip}, more info at "
                f"https://open.work.weixin.qq.com/devtool/query?e={errcode}"
            )
        return JSONResponse({"errcode": errcode, "errmsg": errmsg, **extra})

    def _current_token(self) -> tuple[str, int]:
        """WeCom hands out the same token until it expires, then a new one."""
        now = time.monotonic()
        with self._lock:
            for value, expiry in self._tokens.items():
                if expiry > now:
                    return value, int(expiry - now)
            value = secrets.token_urlsafe(48)
            self._tokens[value] = now + self.expires_in
            self._issued.append(value)
            return value, self.expires_in

    async def _gettoken(self, request: Request) -> Response:
        scripted = await self._arrive(GETTOKEN, request)
        if scripted is not None:
            return scripted
        if request.query_params.get("corpid") != self.corp_id:
            return self._error(request, 40013)
        if request.query_params.get("corpsecret") != self.corp_secret:
            return self._error(request, 40001)
        value, expires_in = self._current_token()
        return JSONResponse(
            {"errcode": 0, "errmsg": "ok", "access_token": value, "expires_in": expires_in}
        )

    async def _send(self, request: Request) -> Response:
        # Read before any scripted stall: after it the sender may be gone, body and all.
        raw = await request.body()
        body = await self._admit(SEND, request) or self._message(request, raw)
        if isinstance(body, Response):
            return body
        agentid = body.get("agentid")
        if type(agentid) is not int or agentid != self.agent_id:
            return self._error(request, 40056)
        content, media_id = message_content(body)
        with self._lock:
            refused = self._refused_content
        if refused and refused[0] in content:
            return PlainTextResponse("stand-in refused this content", status_code=refused[1])
        recipients = [user for user in str(body.get("touser", "")).split("|") if user]
        known = [user for user in recipients if self._knows(user)]
        invalid = "|".join(user for user in recipients if user not in known)
        if not known:
            return self._error(request, 81013, invaliduser=invalid)
        with self._lock:
            msgid = f"standin-msg-{next(self._msgids)}"
            self._sent.extend(
                SentMessage(user, agentid, content, msgid, media_id) for user in known
            )
        return JSONResponse({"errcode": 0, "errmsg": "ok", "invaliduser": invalid, "msgid": msgid})

    def _knows(self, user: str) -> bool:
        return self._known_users is None or user in self._known_users
