"""The WeCom stand-in's group chat, member and media endpoints: appchat/send, appchat/get,
user/get, media/upload and media/get, and the message checks that message/send shares with
appchat/send. Mixed into WeComStandIn, whose lock, token check (`_admit`) and error answers
(`_error`) they use, so scripted faults and token expiry work here exactly as for message/send.

Like WeCom: an unknown chat is 86003, an unknown member 60111, an unknown or never uploaded
media_id 40007; an upload must be type=image, a JPG or PNG (by its bytes and its file name)
of more than 5 bytes and at most 10 MB; media/get serves what was uploaded or configured.

Usage:
    voice = Path("tests/data/voice_hello.amr").read_bytes()
    standin = WeComStandIn(chats={"wrkchat1": "研发群"}, names={"alice": "张三"},
                           media={"voice-1": voice})
    with serve(standin.app) as base_url:
        ...  # gateway.send_chat_text("wrkchat1", "hi"); gateway.download_media("voice-1")
    assert standin.chat_contents("wrkchat1") == ["hi"]
    assert standin.uploads[0].content_type == "image/png"   # after gateway.upload_image(...)
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CHAT_SEND = "appchat/send"
CHAT_GET = "appchat/get"
USER_GET = "user/get"
UPLOAD = "media/upload"
MEDIA_GET = "media/get"

# WeCom's "10 MB", read strictly, so that whatever passes here passes there too.
IMAGE_MAX_BYTES = 10 * 1000 * 1000
_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"#!AMR\n": "audio/amr"}
_IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png"}

GROUPS_AND_MEDIA_ERRMSG = {
    40004: "invalid media type",
    40005: "invalid file type",
    40006: "invalid file size",
    40007: "invalid media_id",
    40009: "invalid image size",
    41005: "media data missing",
    60111: "userid not found",
    86003: "chatid not exist",
}


@dataclass(frozen=True)
class GroupMessage:
    """One message to a group chat: text `content`, or an image's `media_id`."""

    chatid: str
    content: str
    media_id: str = ""


@dataclass(frozen=True)
class Upload:
    media_id: str
    filename: str
    content_type: str
    data: bytes


def message_content(body: dict[str, Any]) -> tuple[str, str]:
    """(text, media_id) of a message that `_message` accepted."""
    if body["msgtype"] == "image":
        return "", body["image"]["media_id"]
    return body["text"]["content"], ""


def _content_type(data: bytes) -> str:
    return next((kind for magic, kind in _MAGIC.items() if data.startswith(magic)), "")


class GroupsAndMedia:
    _lock: threading.Lock

    def _init_groups_and_media(
        self,
        chats: Mapping[str, str] | None,
        names: Mapping[str, str] | None,
        media: Mapping[str, bytes] | None,
    ) -> None:
        """`chats` None accepts a send to any chatid (and appchat/get knows none)."""
        self._chats = None if chats is None else dict(chats)
        self._names = dict(names or {})
        self._media = dict(media or {})
        self._chat_sent: list[GroupMessage] = []
        self._uploads: list[Upload] = []
        self._media_ids = itertools.count(1)

    def _groups_and_media_routes(self) -> list[Route]:
        return [
            Route("/cgi-bin/appchat/send", self._chat_send, methods=["POST"]),
            Route("/cgi-bin/appchat/get", self._chat_get, methods=["GET"]),
            Route("/cgi-bin/user/get", self._user_get, methods=["GET"]),
            Route("/cgi-bin/media/upload", self._upload, methods=["POST"]),
            Route("/cgi-bin/media/get", self._media_get, methods=["GET"]),
        ]

    @property
    def chat_sent(self) -> list[GroupMessage]:
        with self._lock:
            return list(self._chat_sent)

    def chat_contents(self, chatid: str) -> list[str]:
        return [m.content for m in self.chat_sent if m.chatid == chatid and not m.media_id]

    def chat_images(self, chatid: str) -> list[str]:
        return [m.media_id for m in self.chat_sent if m.chatid == chatid and m.media_id]

    @property
    def uploads(self) -> list[Upload]:
        with self._lock:
            return list(self._uploads)

    def add_media(self, media_id: str, data: bytes) -> None:
        """WeCom holds this media from now on (as when a member sends a voice message)."""
        with self._lock:
            self._media[media_id] = data

    def _message(self, request: Request, raw: bytes) -> dict[str, Any] | Response:
        """The message's JSON body, or WeCom's refusal of it."""
        try:
            body = json.loads(raw)
        except ValueError:
            return self._error(request, 47001)
        msgtype = body.get("msgtype") if isinstance(body, dict) else None
        if msgtype not in ("text", "image") or not isinstance(body.get(msgtype), dict):
            return self._error(request, 40008 if isinstance(body, dict) else 47001)
        if msgtype == "text":
            content = body["text"].get("content")
            return body if isinstance(content, str) and content else self._error(request, 44004)
        with self._lock:
            known = body["image"].get("media_id") in self._media
        return body if known else self._error(request, 40007)

    async def _chat_send(self, request: Request) -> Response:
        raw = await request.body()
        body = await self._admit(CHAT_SEND, request) or self._message(request, raw)
        if isinstance(body, Response):
            return body
        chatid = body.get("chatid")
        if not isinstance(chatid, str) or (self._chats is not None and chatid not in self._chats):
            return self._error(request, 86003)
        content, media_id = message_content(body)
        with self._lock:
            self._chat_sent.append(GroupMessage(chatid, content, media_id))
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def _chat_get(self, request: Request) -> Response:
        refused = await self._admit(CHAT_GET, request)
        if refused is not None:
            return refused
        chatid = request.query_params.get("chatid", "")
        name = (self._chats or {}).get(chatid)
        if name is None:
            return self._error(request, 86003)
        info = {"chatid": chatid, "name": name, "owner": "", "userlist": []}
        return JSONResponse({"errcode": 0, "errmsg": "ok", "chat_info": info})

    async def _user_get(self, request: Request) -> Response:
        refused = await self._admit(USER_GET, request)
        if refused is not None:
            return refused
        userid = request.query_params.get("userid", "")
        if userid not in self._names:
            return self._error(request, 60111)
        return JSONResponse(
            {"errcode": 0, "errmsg": "ok", "userid": userid, "name": self._names[userid]}
        )

    async def _upload(self, request: Request) -> Response:
        async with request.form() as form:
            refused = await self._admit(UPLOAD, request)
            if refused is not None:
                return refused
            if request.query_params.get("type") != "image":
                return self._error(request, 40004)
            media = form.get("media")
            if not isinstance(media, UploadFile) or not media.filename:
                return self._error(request, 41005)
            data = await media.read()
            filename = media.filename
        if len(data) <= 5:
            return self._error(request, 40006)
        if len(data) > IMAGE_MAX_BYTES:
            return self._error(request, 40009)
        content_type = _content_type(data)
        extension = PurePosixPath(filename).suffix.lower()
        if not content_type.startswith("image/") or extension not in _IMAGE_EXTENSIONS:
            return self._error(request, 40005)
        with self._lock:
            media_id = f"standin-media-{next(self._media_ids)}"
            self._media[media_id] = data
            self._uploads.append(Upload(media_id, filename, content_type, data))
        return JSONResponse(
            {
                "errcode": 0,
                "errmsg": "ok",
                "type": "image",
                "media_id": media_id,
                "created_at": "1700000000",
            }
        )

    async def _media_get(self, request: Request) -> Response:
        refused = await self._admit(MEDIA_GET, request)
        if refused is not None:
            return refused
        media_id = request.query_params.get("media_id", "")
        with self._lock:
            data = self._media.get(media_id)
        if data is None:
            return self._error(request, 40007)
        return Response(
            data,
            media_type=_content_type(data) or "application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{media_id}"'},
        )
