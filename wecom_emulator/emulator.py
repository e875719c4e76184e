"""WeComEmulator: WeCom's API for one or several self-built apps, in one or several corps,
as a Starlette app (`app`, or `routes()` to serve beside other routes).

    wecom = WeComEmulator(known_users={"alice"})          # one corp, one app
    with serve(wecom.app) as base_url:                   # tests.support.live_server.serve
        ...  # point the gateway at base_url with wecom.corp_id / corp_secret / agent_id
    assert wecom.contents_for("alice") == ["hello"]

    other = wecom.add_app(1000003)                        # a second app of the same corp
    elsewhere = wecom.add_app(1000002, corp_id="wwother")  # an app of another corp
    assert [m.agentid for m in wecom.sent_by(other)] == [1000003]

Tests script faults (`fail_next`, `fail_next_http`, `stall_next`, `refuse_content`,
`expire_tokens`, `revoke_tokens`) and read what arrived (`sent`, `chat_sent`, `sent_by`,
`uploads`, `gettoken_calls`, `send_attempts`, `calls`, `issued_tokens`). `on_delivery` is
told of every message delivered: the sandbox shows it to the members on its page.

`aibots` serves the AI bots' long connection at the root path (ws://HOST:PORT/), with its
own faults and records (wecom_emulator.aibot_socket).

The members (`known_users`, `names`) and group chats are one directory for every corp the
emulator plays; tokens, agentids and media are each app's or corp's own.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from wecom_emulator import endpoints
from wecom_emulator.aibot_media import PATH as AIBOT_MEDIA_PATH
from wecom_emulator.aibot_media import AiBotItem, AiBotMediaStore
from wecom_emulator.aibot_socket import AiBotSocket, BotReply
from wecom_emulator.directory import Directory
from wecom_emulator.errors import Answered, Refused
from wecom_emulator.faults import FaultScript
from wecom_emulator.media import LARGEST_MEDIA_BYTES, Media, MediaStore, check_image
from wecom_emulator.messages import Message, SentMessage, read_message
from wecom_emulator.tokens import App, TokenBook

DEFAULT_CORP_ID = "wwemulator012345678"
DEFAULT_AGENT_ID = 1000002
TOKEN_SECONDS = 7200
# Room for a multipart form's boundaries and headers around WeCom's largest media.
_MAX_REQUEST_BYTES = LARGEST_MEDIA_BYTES + 64 * 1024

Handler = Callable[[Request], Awaitable[Response]]


class WeComEmulator:
    def __init__(
        self,
        *,
        corp_id: str = DEFAULT_CORP_ID,
        corp_secret: str | None = None,
        agent_id: int = DEFAULT_AGENT_ID,
        expires_in: int = TOKEN_SECONDS,
        known_users: Iterable[str] | None = None,
        names: Mapping[str, str] | None = None,
        chats: Mapping[str, str] | None = None,
        chat_members: Mapping[str, Sequence[str]] | None = None,
        departments: Mapping[int, Sequence[str]] | None = None,
        tags: Mapping[int, Sequence[str]] | None = None,
        media: Mapping[str, bytes] | None = None,
        on_delivery: Callable[[SentMessage], None] | None = None,
        on_aibot_reply: Callable[[BotReply], None] | None = None,
    ):
        """The first app is (`corp_id`, `agent_id`, `corp_secret`: random unless given).
        `known_users` None accepts every recipient; `names` (userid: name) are the members
        user/get finds; `chats` (chatid: name) the group chats, None accepting a send to any
        chatid, with their `chat_members` (owner first); `departments` and `tags` (id: members)
        for user/get and sends to toparty/totag, see Directory; `media` (media_id:
        bytes) what the first corp holds, as voice clips members sent. `aibots` is the AI
        bots' long-connection endpoint (see AiBotSocket), told `on_aibot_reply`."""
        self.expires_in = expires_in
        self.tokens = TokenBook()
        self.media = MediaStore()
        self.aibot_media = AiBotMediaStore()
        self.first_app = self.add_app(agent_id, corp_id=corp_id, corp_secret=corp_secret)
        self.directory = Directory(known_users, names, chats, chat_members, departments, tags)
        for media_id, data in (media or {}).items():
            self.add_media(media_id, data)
        self._on_delivery = on_delivery
        self.aibots = AiBotSocket(on_reply=on_aibot_reply)
        self._script = FaultScript()
        # The faults tests script, played by every endpoint (see FaultScript).
        self.fail_next = self._script.fail_next
        self.fail_next_http = self._script.fail_next_http
        self.stall_next = self._script.stall_next
        self.refuse_content = self._script.refuse_content
        self.calls = self._script.calls
        self.expire_tokens = self.tokens.expire
        self.revoke_tokens = self.tokens.revoke
        self._lock = threading.Lock()
        self._delivered: list[SentMessage] = []
        self._msgids = itertools.count(1)
        self.app = Starlette(routes=self.routes())

    # --- the apps WeCom knows -------------------------------------------------------------

    def add_app(
        self, agent_id: int, *, corp_id: str | None = None, corp_secret: str | None = None
    ) -> App:
        """Another app, of the first app's corp unless `corp_id` names another."""
        corp_id = corp_id or self.first_app.corp_id
        app = App(corp_id, agent_id) if corp_secret is None else App(corp_id, agent_id, corp_secret)
        self.tokens.add(app)
        return app

    @property
    def corp_id(self) -> str:
        return self.first_app.corp_id

    @property
    def corp_secret(self) -> str:
        return self.first_app.corp_secret

    @property
    def agent_id(self) -> int:
        return self.first_app.agent_id

    def add_media(self, media_id: str, data: bytes, corp_id: str | None = None) -> None:
        """The corp (the first app's unless named) holds this media from now on, as when a
        member sends a voice message."""
        self.media.keep(data, corp_id or self.corp_id, media_id=media_id)

    def add_aibot_media(
        self, data: bytes, key: bytes | None = None, filename: str = "", *, trickle: bool = False
    ) -> AiBotItem:
        """A picture or file a member sent an AI bot: served encrypted with `key` (the bot's
        EncodingAESKey decoded, see aibot_media.bot_key, in callback mode; None: a fresh
        key, given in the item's `aeskey` as over the long connection) at the item's
        `url_path` under the emulator's base URL."""
        return self.aibot_media.keep(data, key, filename, trickle=trickle)

    # --- what arrived ---------------------------------------------------------------------

    @property
    def sent(self) -> list[SentMessage]:
        """Every message delivered to a member, oldest first."""
        with self._lock:
            return [m for m in self._delivered if m.touser]

    @property
    def chat_sent(self) -> list[SentMessage]:
        """Every message delivered to a group chat, oldest first."""
        with self._lock:
            return [m for m in self._delivered if m.chatid]

    def sent_by(self, app: App) -> list[SentMessage]:
        """What `app` delivered, to members and chats."""
        sender = (app.corp_id, app.agent_id)
        with self._lock:
            return [m for m in self._delivered if (m.corp_id, m.agentid) == sender]

    def contents_for(self, user: str) -> list[str]:
        """The text and markdown messages `user` received."""
        return [m.content for m in self.sent if m.touser == user and not m.media_id]

    def images_for(self, user: str) -> list[str]:
        """The media_ids of the images `user` received."""
        return [m.media_id for m in self.sent if m.touser == user and m.media_id]

    def chat_contents(self, chatid: str) -> list[str]:
        return [m.content for m in self.chat_sent if m.chatid == chatid and not m.media_id]

    def chat_images(self, chatid: str) -> list[str]:
        return [m.media_id for m in self.chat_sent if m.chatid == chatid and m.media_id]

    @property
    def uploads(self) -> list[Media]:
        return self.media.uploads

    @property
    def gettoken_calls(self) -> int:
        return self.calls(endpoints.GETTOKEN)

    @property
    def send_attempts(self) -> int:
        """Every POST to message/send, accepted or not."""
        return self.calls(endpoints.SEND)

    @property
    def issued_tokens(self) -> list[str]:
        return self.tokens.issued

    # --- the API --------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        served: list[tuple[str, str, Handler]] = [
            (endpoints.GETTOKEN, "GET", self._gettoken),
            (endpoints.SEND, "POST", self._send),
            (endpoints.CHAT_SEND, "POST", self._chat_send),
            (endpoints.CHAT_GET, "GET", self._chat_get),
            (endpoints.USER_GET, "GET", self._user_get),
            (endpoints.UPLOAD, "POST", self._upload),
            (endpoints.MEDIA_GET, "GET", self._media_get),
        ]
        api: list[BaseRoute] = [
            Route(f"/cgi-bin/{endpoint}", _answering(handler), methods=[method])
            for endpoint, method, handler in served
        ]
        media = Route(f"{AIBOT_MEDIA_PATH}/{{item_id}}", self.aibot_media.serve, methods=["GET"])
        return [*api, self.aibots.route(), media]

    async def _gettoken(self, request: Request) -> Response:
        corp_id = request.query_params.get("corpid", "")
        secret = request.query_params.get("corpsecret", "")
        await self._script.arrive(endpoints.GETTOKEN, self.tokens.app_for(corp_id, secret))
        value, expires_in = self.tokens.fetch(corp_id, secret, self.expires_in)
        return _ok(access_token=value, expires_in=expires_in)

    async def _send(self, request: Request) -> Response:
        app = await self._admit(endpoints.SEND, request)
        message = self._message(app, await request.body())
        agentid = message.body.get("agentid")
        if type(agentid) is not int:
            raise Refused(40056)
        if agentid != app.agent_id:
            raise Refused(301002)
        users, invalid = self.directory.addressees(message.body)
        msgid = f"emulator-msg-{next(self._msgids)}"
        self._deliver(app, message, [{"touser": user, "msgid": msgid} for user in users])
        return _ok(**invalid, msgid=msgid)

    async def _chat_send(self, request: Request) -> Response:
        app = await self._admit(endpoints.CHAT_SEND, request)
        message = self._message(app, await request.body())
        chatid = self.directory.check_chat(message.body.get("chatid"))
        self._deliver(app, message, [{"chatid": chatid}])
        return _ok()

    async def _chat_get(self, request: Request) -> Response:
        await self._admit(endpoints.CHAT_GET, request)
        return _ok(chat_info=self.directory.chat_info(request.query_params.get("chatid", "")))

    async def _user_get(self, request: Request) -> Response:
        await self._admit(endpoints.USER_GET, request)
        return _ok(**self.directory.member(request.query_params.get("userid", "")))

    async def _upload(self, request: Request) -> Response:
        app = await self._admit(endpoints.UPLOAD, request)
        if request.query_params.get("type") != "image":
            raise Refused(40004)  # the service uploads only the pictures it draws
        async with request.form(max_files=1, max_fields=4) as form:
            media = form.get("media")
            if not isinstance(media, UploadFile) or not media.filename:
                raise Refused(41005)
            data, filename = await media.read(), media.filename
        check_image(data, filename)
        kept = self.media.keep(data, app.corp_id, filename, uploaded=True)
        created_at = str(int(time.time()))
        return _ok(type="image", media_id=kept.media_id, created_at=created_at)

    async def _media_get(self, request: Request) -> Response:
        app = await self._admit(endpoints.MEDIA_GET, request)
        media = self.media.get(request.query_params.get("media_id", ""), app.corp_id)
        if media is None:
            raise Refused(40007)
        return Response(
            media.data,
            media_type=media.content_type or "application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{media.filename}"'},
        )

    async def _admit(self, endpoint: str, request: Request) -> App:
        """Counts the call, plays its scripted fault, checks its access token; the token's
        app. A POST's body is read first: after a scripted stall the caller may be gone."""
        if request.method == "POST":
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > _MAX_REQUEST_BYTES:
                raise Refused(40006)
            await request.body()
        token = request.query_params.get("access_token", "")
        await self._script.arrive(endpoint, self.tokens.owner(token))
        return self.tokens.check(token)

    def _message(self, app: App, raw: bytes) -> Message:
        def held(media_id: str) -> bool:
            return self.media.get(media_id, app.corp_id) is not None

        message = read_message(raw, held)
        self._script.check_content(message.content)
        return message

    def _deliver(self, app: App, message: Message, addresses: list[dict[str, str]]) -> None:
        delivered = [
            SentMessage(
                app.corp_id, app.agent_id, message.msgtype, message.content, message.media_id,
                **address,
            )
            for address in addresses
        ]
        with self._lock:
            self._delivered.extend(delivered)
        if self._on_delivery is not None:
            for sent in delivered:
                self._on_delivery(sent)


def _ok(**fields: object) -> JSONResponse:
    return JSONResponse({"errcode": 0, "errmsg": "ok", **fields})


def _answering(handler: Handler) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except Answered as answer:
            return answer.response(request)

    return endpoint
