"""The AI bot's side of WeCom, for the page: a member's message becomes the bot's JSON callback
(wecom_emulator.aibot_callbacks, with the service's own crypto); the passive reply opens a
stream, which is refreshed as WeCom refreshes it until it finishes, the growing text shown as
the bot's bubble; and a late answer the service posts to the message's response_url (here, on
the emulator) lands in the same chat. A picture or file a member sends waits on the emulator,
encrypted with the bot's key as WeCom serves it, for the service to download."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from sandbox.callbacks import post_as_wecom
from sandbox.chat_log import Bubble, ChatLog
from wecom_emulator.aibot_callbacks import (
    media_payload,
    open_passive_reply,
    refresh_payload,
    signed_aibot_callback,
    text_payload,
)

log = logging.getLogger("weworktop.sandbox")

RESPONSE_PATH = "/cgi-bin/aibot/response"
# WeCom refreshes a stream about once a second and for about six minutes; the sandbox looks
# a little more often, so that a streamed answer is seen growing.
REFRESH_SECONDS, STREAM_SECONDS = 0.5, 360.0
# A response_url takes one message within an hour; a sandbox keeps the newest ones.
MAX_RESPONSE_URLS = 1000
# The emulator's answer to a response_url that is unknown or used already.
USED_RESPONSE_URL = 600001

Spawn = Callable[[Coroutine[Any, Any, None]], None]
# Keeps a picture's or file's bytes (and its file name) for a bot; the message's part for it:
# where to download it, and over the long connection its key.
KeepMedia = Callable[[bytes, str], dict[str, str]]


class ResponseUrls:
    """The response_urls handed out with the bots' messages, served by the emulator: each
    takes one markdown message into the chat its message came from."""

    def __init__(self, emulator_url: str, log: ChatLog):
        self._base = emulator_url.rstrip("/") + RESPONSE_PATH
        self._log = log
        self._conversations: dict[str, str] = {}  # response_code: the chat it answers into

    def new(self, conversation: str) -> str:
        code = secrets.token_urlsafe(16)
        self._conversations[code] = conversation
        if len(self._conversations) > MAX_RESPONSE_URLS:
            del self._conversations[next(iter(self._conversations))]
        return f"{self._base}?response_code={code}"

    def routes(self) -> list[Route]:
        return [Route(RESPONSE_PATH, self.respond, methods=["POST"])]

    async def respond(self, request: Request) -> Response:
        try:
            body = await request.json()
            content = body["markdown"]["content"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"errcode": 40008, "errmsg": "invalid message type"})
        conversation = self._conversations.pop(request.query_params.get("response_code", ""), "")
        if not conversation:
            return JSONResponse({"errcode": USED_RESPONSE_URL, "errmsg": "response_url used"})
        self._log.add(conversation, "", "text", text=str(content))
        return JSONResponse({"errcode": 0, "errmsg": "ok"})


class BotChat:
    """One bot: its callback URL and keys, and the name members @-mention it by."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        callback_url: str,
        crypto: WeComCrypto,
        name: str,
        responses: ResponseUrls,
        log: ChatLog,
        spawn: Spawn,
        keep_media: KeepMedia,
    ):
        self._mention = f"@{name}"
        self._keep_media = keep_media
        self._client = client
        self._url = callback_url
        self._crypto = crypto
        self._responses = responses
        self._log = log
        self._spawn = spawn

    async def send_text(self, bubble: Bubble, member: str, text: str, chat_id: str) -> str | None:
        """Sends the member's message to the bot; None once the service took it, else what
        went wrong. A stream it opens is followed in the background."""
        if chat_id and not text.lstrip().startswith(self._mention):
            return f"in groups WeCom hands a bot only messages that mention it ({self._mention})"
        payload = text_payload(
            bubble.msg_id, text, member, chat_id or None,
            response_url=self._responses.new(bubble.conversation),
        )
        return await self._send(bubble, member, payload)

    async def send_media(
        self, bubble: Bubble, member: str, msg_type: str, data: bytes, filename: str
    ) -> str | None:
        """A picture (`msg_type` "image") or file ("file") sent to the bot in a private chat
        (in groups WeCom hands a bot only messages that mention it, which these cannot)."""
        payload = media_payload(
            bubble.msg_id, msg_type, self._keep_media(data, filename), member,
            response_url=self._responses.new(bubble.conversation),
        )
        return await self._send(bubble, member, payload)

    async def _send(self, bubble: Bubble, member: str, payload: dict[str, Any]) -> str | None:
        params, body = signed_aibot_callback(self._crypto, payload)
        answer = await post_as_wecom(self._client, self._url, params, body)
        if isinstance(answer, str):
            return answer
        if not answer.content:
            return None  # taken, and no stream: the rules leave it unanswered
        try:
            stream = open_passive_reply(self._crypto, answer.content, params["nonce"])["stream"]
        except (ValueError, KeyError, TypeError) as err:  # BadReply is a ValueError
            return f"WeCom could not read the bot's passive reply ({type(err).__name__})"
        self._spawn(self._follow(bubble.conversation, member, stream))
        return None

    async def _follow(self, conversation: str, member: str, stream: dict[str, Any]) -> None:
        """Shows the stream's content as one bubble of the bot, refresh after refresh."""
        shown: Bubble | None = None
        deadline = time.monotonic() + STREAM_SECONDS
        while True:
            content = str(stream.get("content", ""))
            if content and shown is None:
                shown = self._log.add(conversation, "", "text", text=content)
            elif shown is not None:
                self._log.update(shown, text=content)
            if stream.get("finish") or time.monotonic() > deadline:
                return
            await asyncio.sleep(REFRESH_SECONDS)
            stream = await self._refresh(str(stream.get("id", "")), member) or stream

    async def _refresh(self, stream_id: str, member: str) -> dict[str, Any] | None:
        """What the stream shows now; None when this refresh failed (the next may not)."""
        params, body = signed_aibot_callback(self._crypto, refresh_payload(stream_id, member))
        try:
            response = await self._client.post(self._url, params=params, content=body)
            return open_passive_reply(self._crypto, response.content, params["nonce"])["stream"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as err:
            log.warning("sandbox: a stream refresh failed (%s)", type(err).__name__)
            return None
