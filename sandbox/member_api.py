"""The page's side of the emulator: a member sends text, a voice clip or a picture into a chat
with one of the corp's apps or its bot (and a file to the bot), and the page asks what
changed since it last looked. A
member's message becomes a WeCom callback to that app's or bot's callback URL; its fate is
then followed through the operator API (sandbox.explainer)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from functools import partial
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.bot_chat import BotChat
from sandbox.callbacks import CallbackSender, next_msg_id
from sandbox.chat_log import (
    DELIVERING,
    UNDELIVERED,
    Bubble,
    ChatLog,
    channel_of,
    group_chat,
    private_chat,
)
from sandbox.corp import Assistant, Corp
from sandbox.explainer import Explainer
from wecom_emulator.media import (
    IMAGE_MAX_BYTES,
    LARGEST_MEDIA_BYTES,
    MIN_BYTES,
    VOICE_MAX_BYTES,
    MediaStore,
)

MAX_TEXT_CHARS = 20_000
# Room for the form's other fields and boundaries around a voice clip.
_FORM_OVERHEAD = 64 * 1024

Spawn = Callable[[Coroutine[Any, Any, None]], None]


class Refused(ValueError):
    pass


class MemberApi:
    def __init__(
        self,
        corp: Corp,
        log: ChatLog,
        media: MediaStore,
        apps: Mapping[str, CallbackSender],
        bots: Mapping[str, BotChat],
        explainer: Explainer,
        spawn: Spawn,
        operator_url: str,
    ):
        self._corp = corp
        self._log = log
        self._media = media
        self._apps = apps  # by channel
        self._bots = bots
        self._entered: set[tuple[str, str]] = set()  # (member, channel): the app was opened
        self._explainer = explainer
        self._spawn = spawn
        self._operator_url = operator_url
        self._in_order = asyncio.Lock()

    def routes(self) -> list[Route]:
        return [
            Route("/api/setup", self.setup, methods=["GET"]),
            Route("/api/messages", self.send_text, methods=["POST"]),
            Route("/api/open", self.open_chat, methods=["POST"]),
            Route("/api/voice", self.send_voice, methods=["POST"]),
            Route("/api/picture", self.send_picture, methods=["POST"]),
            Route("/api/file", self.send_file, methods=["POST"]),
            Route("/api/updates", self.updates, methods=["GET"]),
            Route("/media/{media_id}", self.media, methods=["GET"]),
        ]

    async def setup(self, _: Request) -> Response:
        corp = self._corp
        return JSONResponse(
            {
                "channels": [_channel_json(assistant) for assistant in corp.assistants],
                "members": [{"id": uid, "name": name} for uid, name in corp.members.items()],
                "groups": [
                    {"id": g.chat_id, "name": g.name, "whitelisted": g.whitelisted}
                    for g in corp.groups
                ],
                "operator_url": self._operator_url,
            }
        )

    async def open_chat(self, request: Request) -> Response:
        """A member opens an app's chat: WeCom tells the app (enter_agent) the first time,
        and the app may answer with its welcome_message."""
        try:
            _body, (channel, member, _conversation, chat_id) = await self._json_in_chat(request)
        except (Refused, ValueError) as err:
            return JSONResponse({"error": str(err)}, 400)
        sender = self._apps.get(channel)
        if sender is not None and not chat_id and (member, channel) not in self._entered:
            self._entered.add((member, channel))
            self._spawn(self._in_turn(partial(sender.post, sender.event(member, "enter_agent"))))
        return JSONResponse({})

    async def send_text(self, request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            # A form or text/plain POST is what another site's page can send unasked.
            return JSONResponse({"error": "send the message as application/json"}, 415)
        try:
            body, (channel, member, conversation, chat_id) = await self._json_in_chat(request)
            text = body.get("text")
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
                raise Refused(f"text must be 1 to {MAX_TEXT_CHARS} characters")
        except (Refused, ValueError) as err:
            return JSONResponse({"error": str(err)}, 400)
        bubble = self._log.add(
            conversation, member, "text", text=text, msg_id=next_msg_id(), status=DELIVERING
        )
        if channel in self._bots:
            send = partial(self._bots[channel].send_text, bubble, member, text, chat_id)
        else:
            sender = self._apps[channel]
            send = partial(sender.post, sender.text(member, text, bubble.msg_id, chat_id))
        self._spawn(self._deliver(bubble, send))
        return JSONResponse(bubble.as_json())

    async def send_voice(self, request: Request) -> Response:
        try:
            where, data, filename = await self._upload(
                request, "voice", VOICE_MAX_BYTES, "voice clips"
            )
            channel, member, conversation, chat_id = where
            if channel not in self._apps:
                raise Refused("the sandbox sends voice to the apps; type to the bot")
        except Refused as err:
            return JSONResponse({"error": str(err)}, 400)
        filename = filename or "voice.amr"
        media_id = self._media.keep(data, self._corp.corp_id, filename).media_id
        bubble = self._log.add(
            conversation, member, "voice", text=filename, media_id=media_id,
            msg_id=next_msg_id(), status=DELIVERING,
        )
        sender = self._apps[channel]
        xml = sender.voice(member, media_id, bubble.msg_id, chat_id)
        self._spawn(self._deliver(bubble, partial(sender.post, xml)))
        return JSONResponse(bubble.as_json())

    async def send_picture(self, request: Request) -> Response:
        try:
            where, data, filename = await self._upload(
                request, "picture", IMAGE_MAX_BYTES, "pictures"
            )
            channel, member, conversation, chat_id = where
            if chat_id:
                raise Refused("pictures are answered in private chats")
        except Refused as err:
            return JSONResponse({"error": str(err)}, 400)
        # Kept where the page shows it from, whoever it went to.
        media_id = self._media.keep(data, self._corp.corp_id, filename).media_id
        bubble = self._log.add(
            conversation, member, "image", media_id=media_id, msg_id=next_msg_id(),
            status=DELIVERING,
        )
        if channel in self._bots:
            send = partial(self._bots[channel].send_media, bubble, member, "image", data, "")
        else:
            sender = self._apps[channel]
            send = partial(sender.post, sender.picture(member, media_id, bubble.msg_id))
        self._spawn(self._deliver(bubble, send))
        return JSONResponse(bubble.as_json())

    async def send_file(self, request: Request) -> Response:
        try:
            where, data, filename = await self._upload(
                request, "file", LARGEST_MEDIA_BYTES, "files"
            )
            channel, member, conversation, chat_id = where
            if channel not in self._bots or chat_id:
                raise Refused("files go to the bot, privately: an app's callback gets none")
        except Refused as err:
            return JSONResponse({"error": str(err)}, 400)
        bubble = self._log.add(
            conversation, member, "text", text=f"[文件 file] {filename}", msg_id=next_msg_id(),
            status=DELIVERING,
        )
        bot = self._bots[channel]
        send = partial(bot.send_media, bubble, member, "file", data, filename or "file")
        self._spawn(self._deliver(bubble, send))
        return JSONResponse(bubble.as_json())

    async def updates(self, request: Request) -> Response:
        since = request.query_params.get("since", "0")
        if not (since.isascii() and since.isdigit()):
            return JSONResponse({"error": "since must be a revision number"}, 400)
        revision, bubbles = self._log.changed_since(int(since))
        return JSONResponse({"revision": revision, "bubbles": [b.as_json() for b in bubbles]})

    async def media(self, request: Request) -> Response:
        media = self._media.get(request.path_params["media_id"])
        if media is None:
            return Response("no such media", 404)
        return Response(media.data, media_type=media.content_type or "application/octet-stream")

    async def _json_in_chat(
        self, request: Request
    ) -> tuple[dict[str, Any], tuple[str, str, str, str]]:
        """The JSON body naming `from` and `conversation`, and where that is (see _where)."""
        body = await request.json()
        if not isinstance(body, dict):
            raise Refused("the body must be a JSON object")
        return body, self._where(body.get("from"), body.get("conversation"))

    async def _upload(
        self, request: Request, field: str, limit: int, what: str
    ) -> tuple[tuple[str, str, str, str], bytes, str]:
        """(where, see _where; the bytes; the file name) of a form holding one file in
        `field` of 6 bytes to `limit`, WeCom's limit for such media."""
        refusal = Refused(f"WeCom takes {what} of {MIN_BYTES} bytes to {limit / 1e6:g} MB")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit + _FORM_OVERHEAD:
            raise refusal
        async with request.form(max_files=1, max_fields=4) as form:
            where = self._where(form.get("from"), form.get("conversation"))
            upload = form.get(field)
            if not isinstance(upload, UploadFile):
                raise Refused(f"send it as the '{field}' file field")
            data = await upload.read(limit + 1)
            filename = upload.filename or ""
        if not MIN_BYTES <= len(data) <= limit:
            raise refusal
        return where, data, filename

    def _where(self, member: Any, conversation: Any) -> tuple[str, str, str, str]:
        """(channel, member, conversation, chat_id) of a message the member may send there."""
        if member not in self._corp.members:
            raise Refused("'from' must be a member of the sample corp")
        channel = channel_of(conversation) if isinstance(conversation, str) else ""
        if self._corp.assistant(channel) is None:
            raise Refused("'conversation' must be a chat with one of the corp's apps or bots")
        if conversation == private_chat(channel, member):
            return channel, member, conversation, ""
        for group in self._corp.groups:
            if conversation == group_chat(channel, group.chat_id) and member in group.members:
                return channel, member, conversation, group.chat_id
        raise Refused("'conversation' must be the member's private chat or one of their groups")

    async def _in_turn(self, send: Callable[[], Awaitable[str | None]]) -> str | None:
        """Callbacks go out one at a time, so the service receives them in the order sent."""
        async with self._in_order:
            return await send()

    async def _deliver(self, bubble: Bubble, send: Callable[[], Awaitable[str | None]]) -> None:
        problem = await self._in_turn(send)
        if problem:
            self._log.update(bubble, status=UNDELIVERED, note=problem)
            return
        await self._explainer.follow(bubble)


def _channel_json(assistant: Assistant) -> dict[str, Any]:
    return {
        "id": assistant.channel,
        "name": assistant.name,
        "kind": "aibot" if assistant.is_bot else "app",
        "hint": assistant.hint,
        # How a question starts in a group: the app's first group prefix, a mention of a bot.
        "group_prefix": f"@{assistant.name}" if assistant.is_bot else assistant.group_prefixes[0],
    }
