"""The emulator as one Starlette app: WeCom's API under /cgi-bin (for the service, played by
wecom_emulator, with every app of the corp and their tokens; the AI bot's response_url; and
the long connection of the bot that dials out),
the member's page at / with its JSON API (for a person), sharing one media store; what an app
or the bot sends lands in the chat log the page shows."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.responses import FileResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from sandbox.bot_chat import BotChat, KeepMedia, ResponseUrls
from sandbox.callbacks import CallbackSender
from sandbox.chat_log import ChatLog, group_chat, private_chat
from sandbox.corp import Corp
from sandbox.explainer import Explainer
from sandbox.history import restore
from sandbox.member_api import MemberApi
from sandbox.operator_client import OperatorClient
from sandbox.same_origin import same_origin_only
from sandbox.settings import SandboxKeys
from sandbox.socket_bot_chat import SocketBotChat, bot_id_of
from wecom_emulator import BotReply, SentMessage, WeComEmulator
from wecom_emulator.aibot_media import bot_key

STATIC = Path(__file__).with_name("static")
_PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'", "Cache-Control": "no-store"}


class SandboxEmulator:
    """`service_url` is where the service listens (each app's and bot's callbacks go to its
    callback_path, the operator API is under its /admin); `emulator_url` where this app is
    served (the bot's response_urls point there)."""

    def __init__(self, corp: Corp, keys: SandboxKeys, service_url: str, emulator_url: str):
        self.corp = corp
        self.log = ChatLog()
        first, *more_apps = corp.apps
        self.wecom = WeComEmulator(
            corp_id=corp.corp_id,
            corp_secret=keys.channels[first.channel].corp_secret,
            agent_id=first.agent_id,
            known_users=corp.members,
            names=corp.members,
            chats={group.chat_id: group.name for group in corp.groups},
            chat_members={group.chat_id: group.members for group in corp.groups},
            on_delivery=self._show,
            on_aibot_reply=self._show_bot_reply,
        )
        for app in more_apps:
            self.wecom.add_app(app.agent_id, corp_secret=keys.channels[app.channel].corp_secret)
        self._channel_of_agent = {app.agent_id: app.channel for app in corp.apps}
        self._tasks: set[asyncio.Task[None]] = set()
        # Used only on the loop that serves the app; closed when the app shuts down.
        self._client = httpx.AsyncClient(timeout=10.0)
        service_url = service_url.rstrip("/")

        def crypto(channel: str, receive_id: str) -> WeComCrypto:
            # An app's callbacks carry the CorpID as their receiveid, a bot's none.
            return WeComCrypto(keys.channels[channel].token, keys.channels[channel].aes_key,
                               receive_id)

        apps = {
            app.channel: CallbackSender(
                self._client, service_url + app.callback_path, corp.corp_id, app.agent_id,
                crypto(app.channel, corp.corp_id),
            )
            for app in corp.apps
        }
        responses = ResponseUrls(emulator_url, self.log)

        def keep_media(key: bytes | None) -> KeepMedia:
            """Callback mode encrypts what members send with the bot's EncodingAESKey (`key`);
            the long connection with a key of each item's own (None), which it carries."""

            def keep(data: bytes, filename: str) -> dict[str, str]:
                item = self.wecom.add_aibot_media(data, key, filename)
                part = {"url": emulator_url.rstrip("/") + item.url_path}
                return part if key else {**part, "aeskey": item.aeskey}

            return keep

        bots: dict[str, BotChat | SocketBotChat] = {
            bot.channel: BotChat(
                self._client, service_url + bot.callback_path, crypto(bot.channel, ""),
                bot.name, responses, self.log, self._spawn,
                keep_media(bot_key(keys.channels[bot.channel].aes_key)),
            )
            for bot in corp.bots
            if not bot.long_connection
        }
        self._operator = OperatorClient(self._client, service_url + "/admin", keys.admin_token)
        self._explainer = Explainer(self._operator, self.log)
        self._socket_bots = [
            SocketBotChat(
                bot.channel, bot.name, self.wecom.aibots,
                self.wecom.aibots.add_bot(
                    bot_id_of(bot.channel), keys.channels[bot.channel].bot_secret
                ),
                corp, self.log, keep_media(None),
            )
            for bot in corp.bots
            if bot.long_connection
        ]
        bots.update({chat.channel: chat for chat in self._socket_bots})
        members = MemberApi(
            corp,
            self.log,
            self.wecom.media,
            apps,
            bots,
            self._explainer,
            self._spawn,
            operator_url=service_url + "/admin/",
        )
        page = [
            Route("/", self._page, methods=["GET"]),
            # Asked for by browsers and tools that do not read the page's icon link.
            Route("/favicon.ico", self._icon, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
        self.app = Starlette(
            routes=self.wecom.routes() + responses.routes() + members.routes() + page,
            middleware=same_origin_only(),
            lifespan=self._lifespan,
        )

    @asynccontextmanager
    async def _lifespan(self, _app: Starlette):
        try:
            yield
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._client.aclose()

    async def restore(self) -> None:
        """Shows the conversations the service's store remembers (after a restart), and
        follows the messages among them that the service is still working on."""
        for bubble in await restore(self._operator, self.log):
            self._spawn(self._explainer.follow(bubble))

    def _show(self, message: SentMessage) -> None:
        """What an app sent, as the members see it in their chat with that app."""
        channel = self._channel_of_agent[message.agentid]
        if message.chatid:
            conversation = group_chat(channel, message.chatid)
        else:
            conversation = private_chat(channel, message.touser)
        if message.media_id:
            self.log.add(conversation, "", "image", media_id=message.media_id)
        else:
            self.log.add(conversation, "", "text", text=message.content)

    def _show_bot_reply(self, reply: BotReply) -> None:
        """What a bot over the long connection showed, as the members see it."""
        for chat in self._socket_bots:
            chat.show(reply)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _page(self, _) -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=_PAGE_HEADERS)

    async def _icon(self, _) -> FileResponse:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")
