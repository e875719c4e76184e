"""WeCom's API as the sandbox plays it, for the service's real WeCom client: gettoken,
message/send, appchat/send, appchat/get, user/get, media/upload and media/get.

It answers as WeCom does where the client depends on it (WECOM.md): HTTP 200 with an errcode,
one access token per corp and secret until it expires, 40001/40013 for a wrong secret or
corp, 41001/40014/42001 for a missing, unknown or expired token, `invaliduser` and 81013 for
recipients outside the app, 86003 for an unknown chat, 60111 for an unknown member, 40007 for
an unknown media_id, and an upload must be a JPG or PNG image of more than 5 bytes, at most
10 MB. What the app sends lands in the chat log, where the members see it.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.chat_log import ChatLog, group_chat, private_chat
from sandbox.corp import Corp
from sandbox.media import IMAGE_MAX_BYTES, MIN_BYTES, MediaStore, sniff

TOKEN_SECONDS = 7200
# An upload larger than WeCom's largest media is refused before it is read whole.
_UPLOAD_MAX_BYTES = 20 * 1000 * 1000
_IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png"}
_ERRMSG = {
    40001: "invalid credential",
    40004: "invalid media type",
    40005: "invalid file type",
    40006: "invalid file size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40056: "invalid agentid",
    41001: "access_token missing",
    41005: "media data missing",
    42001: "access_token expired",
    44004: "empty content",
    47001: "data format error",
    60111: "userid not found",
    81013: "user & party & tag all invalid",
    86003: "chatid not exist",
}


def wecom_error(errcode: int, **extra: Any) -> JSONResponse:
    errmsg = f"{_ERRMSG.get(errcode, 'error')}, hint: [sandbox]"
    return JSONResponse({"errcode": errcode, "errmsg": errmsg, **extra})


class WeComApiEmulator:
    def __init__(
        self,
        corp: Corp,
        corp_secret: str,
        log: ChatLog,
        media: MediaStore,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._corp = corp
        self._secret = corp_secret
        self._log = log
        self._media = media
        self._clock = clock
        self._tokens: dict[str, float] = {}  # value -> expiry on `clock`
        self._msgids = itertools.count(1)

    def routes(self) -> list[Route]:
        return [
            Route("/cgi-bin/gettoken", self.gettoken, methods=["GET"]),
            Route("/cgi-bin/message/send", self.send, methods=["POST"]),
            Route("/cgi-bin/appchat/send", self.chat_send, methods=["POST"]),
            Route("/cgi-bin/appchat/get", self.chat_get, methods=["GET"]),
            Route("/cgi-bin/user/get", self.user_get, methods=["GET"]),
            Route("/cgi-bin/media/upload", self.upload, methods=["POST"]),
            Route("/cgi-bin/media/get", self.media_get, methods=["GET"]),
        ]

    async def gettoken(self, request: Request) -> Response:
        if request.query_params.get("corpid") != self._corp.corp_id:
            return wecom_error(40013)
        if request.query_params.get("corpsecret") != self._secret:
            return wecom_error(40001)
        now = self._clock()
        self._tokens = {value: expiry for value, expiry in self._tokens.items() if expiry > now}
        # WeCom hands out the same token until it expires.
        value = next(iter(self._tokens), None) or secrets.token_urlsafe(48)
        expiry = self._tokens.setdefault(value, now + TOKEN_SECONDS)
        return JSONResponse(
            {"errcode": 0, "errmsg": "ok", "access_token": value, "expires_in": int(expiry - now)}
        )

    async def send(self, request: Request) -> Response:
        body = self._refused(request) or await self._message(request)
        if isinstance(body, Response):
            return body
        if body.get("agentid") != self._corp.agent_id or type(body.get("agentid")) is not int:
            return wecom_error(40056)
        recipients = [user for user in str(body.get("touser", "")).split("|") if user]
        known = [user for user in recipients if user in self._corp.members]
        invalid = "|".join(user for user in recipients if user not in known)
        if not known:
            return wecom_error(81013, invaliduser=invalid)
        for user in known:
            self._say(private_chat(user), body)
        msgid = f"sandbox-msg-{next(self._msgids)}"
        return JSONResponse({"errcode": 0, "errmsg": "ok", "invaliduser": invalid, "msgid": msgid})

    async def chat_send(self, request: Request) -> Response:
        body = self._refused(request) or await self._message(request)
        if isinstance(body, Response):
            return body
        if self._corp.group(str(body.get("chatid", ""))) is None:
            return wecom_error(86003)
        self._say(group_chat(body["chatid"]), body)
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def chat_get(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        group = self._corp.group(request.query_params.get("chatid", ""))
        if group is None:
            return wecom_error(86003)
        info = {
            "chatid": group.chat_id,
            "name": group.name,
            "owner": group.members[0],
            "userlist": list(group.members),
        }
        return JSONResponse({"errcode": 0, "errmsg": "ok", "chat_info": info})

    async def user_get(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        userid = request.query_params.get("userid", "")
        if userid not in self._corp.members:
            return wecom_error(60111)
        name = self._corp.members[userid]
        return JSONResponse({"errcode": 0, "errmsg": "ok", "userid": userid, "name": name})

    async def upload(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        if request.query_params.get("type") != "image":
            # The service uploads only the pictures it draws.
            return wecom_error(40004)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > _UPLOAD_MAX_BYTES:
            return wecom_error(40006)
        async with request.form(max_files=1, max_fields=4) as form:
            media = form.get("media")
            if not isinstance(media, UploadFile) or not media.filename:
                return wecom_error(41005)
            data, filename = await media.read(), media.filename
        if len(data) < MIN_BYTES:
            return wecom_error(40006)
        if len(data) > IMAGE_MAX_BYTES:
            return wecom_error(40009)
        extension = PurePosixPath(filename).suffix.lower()
        if not sniff(data).startswith("image/") or extension not in _IMAGE_EXTENSIONS:
            return wecom_error(40005)
        media_id = self._media.keep(data, filename)
        return JSONResponse(
            {
                "errcode": 0,
                "errmsg": "ok",
                "type": "image",
                "media_id": media_id,
                "created_at": str(int(time.time())),
            }
        )

    async def media_get(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        media = self._media.get(request.query_params.get("media_id", ""))
        if media is None:
            return wecom_error(40007)
        return Response(
            media.data,
            media_type=media.content_type or "application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{media.filename}"'},
        )

    def _refused(self, request: Request) -> Response | None:
        """WeCom's answer to a missing, unknown or expired access token, or None."""
        token = request.query_params.get("access_token")
        if not token:
            return wecom_error(41001)
        expiry = self._tokens.get(token)
        if expiry is None:
            return wecom_error(40014)
        if self._clock() >= expiry:
            return wecom_error(42001)
        return None

    async def _message(self, request: Request) -> dict[str, Any] | Response:
        """The JSON of a text or image message, or WeCom's refusal of it."""
        try:
            body = json.loads(await request.body())
        except ValueError:
            return wecom_error(47001)
        if not isinstance(body, dict):
            return wecom_error(47001)
        msgtype = body.get("msgtype")
        if msgtype not in ("text", "image") or not isinstance(body.get(msgtype), dict):
            return wecom_error(40008)
        if msgtype == "text":
            content = body["text"].get("content")
            return body if isinstance(content, str) and content else wecom_error(44004)
        media_id = body["image"].get("media_id")
        if not isinstance(media_id, str) or self._media.get(media_id) is None:
            return wecom_error(40007)
        return body

    def _say(self, conversation: str, body: dict[str, Any]) -> None:
        if body["msgtype"] == "image":
            self._log.add(conversation, "", "image", media_id=body["image"]["media_id"])
        else:
            self._log.add(conversation, "", "text", text=body["text"]["content"])
