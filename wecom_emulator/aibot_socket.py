"""WeCom's long-connection endpoint for AI bots (长连接), emulated at the root path, as WeCom
serves it at wss://openws.work.weixin.qq.com: a client subscribes with a BotID and Secret,
WeCom pushes messages and events with a req_id each, and the client answers with frames that
WeCom acknowledges one by one. WeCom keeps one connection per bot: a newer subscribe gets the
bot, the older connection a disconnected_event, then it is closed.

    bots = wecom.aibots                         # WeComEmulator(...).aibots
    team = bots.add_bot("aib-team")             # its secret is random unless given
    ...  # point the service's ws_url at ws://127.0.0.1:PORT/ with team.bot_id and team.secret
    msgid = bots.call(bots.push_text(team, "zhangsan", "你好"))   # from a test's thread
    assert bots.answer(msgid) == "..."          # the content of the stream's finishing frame

Every client frame is checked as WeCom reads it (wecom_emulator.aibot_frames), and so is what
it may answer: only req_ids this connection delivered, before they expire, one frame at a
time per req_id (`ack_delay` holds each ack back, to catch a client that does not wait), no
frame after a stream's finish, the feedback id on a stream's first frame only, a welcome
within 5 s. What breaks a rule is refused and kept in `violations` (tests expect it empty).

Scripted faults: `refuse_subscribes`, `drop`, `drop_on_frame`, `go_silent`, `take_over`
(another client subscribes), `redeliver` (a message delivered again), `push_raw` (anything
at all). uvicorn serves the emulator in its own thread: the async methods run on its loop,
`call` runs one from a test's thread, and what tests read is behind a lock.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from wecom_emulator.aibot_frames import (
    INVALID_BOT,
    INVALID_PARAMETER,
    PING,
    RESPOND,
    RESPOND_WELCOME,
    SEND,
    SUBSCRIBE,
    ShapeError,
    ack,
    callback,
    check_markdown,
    check_stream,
    check_subscribe,
    check_welcome,
    event,
    read_client_frame,
    text_message,
)

MESSAGE_CALLBACK, EVENT_CALLBACK = "aibot_msg_callback", "aibot_event_callback"
WELCOME_SECONDS = 5.0
_T = TypeVar("_T")


@dataclass(frozen=True)
class AiBot:
    bot_id: str
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)


@dataclass(frozen=True)
class BotReply:
    """What a bot showed a member: a stream frame (answering message `msgid`), markdown the
    bot sent on its own (to `chat_id`, a userid or a group), or a welcome."""

    bot_id: str
    kind: str  # "stream", "markdown" or "welcome"
    content: str
    finish: bool = False
    msgid: str = ""
    chat_id: str = ""


@dataclass(frozen=True)
class StreamFrame:
    content: str
    finish: bool
    feedback_id: str | None


@dataclass(frozen=True)
class _Asked:
    kind: str  # "message", "enter_chat" or "feedback"
    msgid: str
    chat: str  # where an answer shows: the group's chatid, or the member's userid
    at: float


class _DropLink(Exception):
    """A scripted drop: the connection closes before the frame is taken."""


class _Link:
    def __init__(self, websocket: WebSocket, bot: AiBot):
        self.websocket = websocket
        self.bot = bot
        self.asked: dict[str, _Asked] = {}
        self.unacked: set[str] = set()
        self.silent = False
        self._sending = asyncio.Lock()

    async def send(self, text: str) -> None:
        async with self._sending:
            await self.websocket.send_text(text)


class AiBotSocket:
    def __init__(
        self,
        *,
        ack_delay: float = 0.0,
        respond_seconds: float = 600.0,
        on_reply: Callable[[BotReply], None] | None = None,
    ):
        self.ack_delay = ack_delay
        self.respond_seconds = respond_seconds
        self._on_reply = on_reply
        self._lock = threading.Lock()
        self._bots: dict[str, AiBot] = {}
        self._links: dict[str, _Link] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refusals = 0
        self._drop_on: dict[str, int] = {}
        self._streams: dict[str, list[StreamFrame]] = {}
        self._sent: list[BotReply] = []
        self._violations: list[str] = []
        self._subscribes: Counter[str] = Counter()
        self._pushed: dict[str, tuple[AiBot, dict[str, Any]]] = {}
        # msgids unique across runs too: a store kept between runs must not take a new
        # message for one it has seen.
        self._run = secrets.token_hex(3)
        self._msgids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    def add_bot(self, bot_id: str | None = None, secret: str | None = None) -> AiBot:
        bot_id = bot_id or f"aib-emulator-{len(self._bots) + 1}"
        bot = AiBot(bot_id) if secret is None else AiBot(bot_id, secret)
        with self._lock:
            self._bots[bot_id] = bot
        return bot

    def route(self) -> WebSocketRoute:
        return WebSocketRoute("/", self._serve)

    def call(self, work: Coroutine[Any, Any, _T], timeout: float = 10.0) -> _T:
        """Runs one of the async methods on the emulator's loop, from a test's thread."""
        return self.submit(work).result(timeout)

    def submit(self, work: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
        """The same without waiting: a test on an event loop of its own awaits
        `asyncio.wrap_future(bots.submit(...))`."""
        if self._loop is None:
            work.close()
            raise RuntimeError("no client has connected to the emulator yet")
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    # --- what WeCom pushes -------------------------------------------------------------------

    async def push_text(
        self, bot: AiBot, user: str, content: str, chat_id: str | None = None,
        msgid: str | None = None,
    ) -> str:
        """A member's text message to the bot (a group @-mention with `chat_id`); its msgid."""
        msgid = msgid or f"emu-{self._run}-{next(self._msgids)}"
        body = text_message(bot.bot_id, user, content, msgid, chat_id)
        with self._lock:
            self._pushed[msgid] = (bot, body)
        await self._push(bot, MESSAGE_CALLBACK, body, "message", msgid)
        return msgid

    async def push_media(
        self, bot: AiBot, user: str, msg_type: str, part: dict[str, str],
        msgid: str | None = None,
    ) -> str:
        """A member's picture (`msg_type` "image") or file ("file") to the bot, `part` its
        `url` and, as the long connection gives each item, its own `aeskey`; its msgid."""
        msgid = msgid or f"emu-{self._run}-{next(self._msgids)}"
        body = text_message(bot.bot_id, user, "", msgid)
        del body["text"]
        body.update({"msgtype": msg_type, msg_type: part})
        with self._lock:
            self._pushed[msgid] = (bot, body)
        await self._push(bot, MESSAGE_CALLBACK, body, "message", msgid)
        return msgid

    async def redeliver(self, msgid: str) -> None:
        """The same message again, with a new req_id, as after a reconnect."""
        with self._lock:
            bot, body = self._pushed[msgid]
        await self._push(bot, MESSAGE_CALLBACK, body, "message", msgid)

    async def push_enter_chat(self, bot: AiBot, user: str) -> str:
        body = event(bot.bot_id, user, "enter_chat")
        await self._push(bot, EVENT_CALLBACK, body, "enter_chat", body["msgid"])
        return body["msgid"]

    async def push_feedback(
        self, bot: AiBot, user: str, feedback_id: str, rating: int, content: str = "",
        reasons: tuple[int, ...] = (),
    ) -> None:
        """👍 (rating 1), 👎 (2, with `content` and `reasons`) or withdrawn (3)."""
        detail = {"id": feedback_id, "type": rating, "content": content,
                  "inaccurate_reason_list": list(reasons)}
        body = event(bot.bot_id, user, "feedback_event", feedback_event=detail)
        await self._push(bot, EVENT_CALLBACK, body, "feedback", body["msgid"])

    async def push_raw(self, bot: AiBot, text: str) -> None:
        await self._link_of(bot).send(text)

    # --- scripted faults ----------------------------------------------------------------------

    def refuse_subscribes(self, times: int) -> None:
        """The next `times` subscribes are refused (853000), right keys or not."""
        with self._lock:
            self._refusals += times

    async def drop(self, bot: AiBot) -> None:
        """The bot's connection breaks (WeCom restarts, a network fault)."""
        await self._link_of(bot).websocket.close(1011)

    def drop_on_frame(self, stream_id: str, frame: int) -> None:
        """The connection breaks when the stream's `frame`-th frame (1 is the first) arrives,
        before WeCom takes it."""
        with self._lock:
            self._drop_on[stream_id] = frame

    def go_silent(self, bot: AiBot) -> None:
        """The bot's connection stays open and answers nothing more: a dead link."""
        link = self._links.get(bot.bot_id)
        if link is not None:
            link.silent = True

    async def take_over(self, bot: AiBot) -> None:
        """Another client subscribed with this bot's keys: disconnected_event, then closed."""
        link = self._links.get(bot.bot_id)
        with self._lock:
            if self._links.get(bot.bot_id) is link:
                del self._links[bot.bot_id]
        if link is not None:
            await self._disconnect(link)

    # --- what tests read ----------------------------------------------------------------------

    def connected(self, bot: AiBot) -> bool:
        with self._lock:
            return bot.bot_id in self._links

    def subscribes(self, bot: AiBot) -> int:
        """Every aibot_subscribe for the bot, taken or refused."""
        with self._lock:
            return self._subscribes[bot.bot_id]

    def stream(self, stream_id: str) -> list[StreamFrame]:
        with self._lock:
            return list(self._streams.get(stream_id, ()))

    def answer(self, stream_id: str) -> str | None:
        """The content of the stream's finishing frame, once it has one."""
        finished = [frame.content for frame in self.stream(stream_id) if frame.finish]
        return finished[-1] if finished else None

    def markdown_to(self, chat_id: str) -> list[str]:
        """What bots sent on their own (aibot_send_msg) to a member or a group."""
        with self._lock:
            return [r.content for r in self._sent if r.kind == "markdown" and r.chat_id == chat_id]

    @property
    def welcomes(self) -> list[str]:
        with self._lock:
            return [reply.content for reply in self._sent if reply.kind == "welcome"]

    @property
    def violations(self) -> list[str]:
        with self._lock:
            return list(self._violations)

    # --- the connection -----------------------------------------------------------------------

    async def _serve(self, websocket: WebSocket) -> None:
        await websocket.accept()
        self._loop = asyncio.get_running_loop()
        link = None
        try:
            link = await self._subscribe(websocket)
            if link is not None:
                async for raw in websocket.iter_text():
                    await self._take(link, raw)
        except WebSocketDisconnect:
            pass
        finally:
            if link is not None:
                with self._lock:
                    if self._links.get(link.bot.bot_id) is link:
                        del self._links[link.bot.bot_id]

    async def _subscribe(self, websocket: WebSocket) -> _Link | None:
        try:
            cmd, req_id, body = read_client_frame(await websocket.receive_text())
            if cmd != SUBSCRIBE:
                raise ShapeError(f"{cmd} before aibot_subscribe")
            bot_id, secret = check_subscribe(body)
        except ShapeError as err:
            self._violate(str(err))
            await websocket.close(1008)
            return None
        with self._lock:
            self._subscribes[bot_id] += 1
            bot = self._bots.get(bot_id)
            refused = self._refusals > 0
            self._refusals -= refused
        if refused or bot is None or not secrets.compare_digest(bot.secret, secret):
            await websocket.send_text(ack(req_id, INVALID_BOT, "invalid bot_id or secret"))
            await websocket.close(1008)
            return None
        link = _Link(websocket, bot)
        with self._lock:
            previous, self._links[bot_id] = self._links.get(bot_id), link
        await link.send(ack(req_id))
        if previous is not None:
            await self._disconnect(previous)
        return link

    async def _take(self, link: _Link, raw: str) -> None:
        if link.silent:
            return
        try:
            cmd, req_id, body = read_client_frame(raw)
        except ShapeError as err:
            self._violate(str(err))
            return
        if cmd == PING:
            await link.send(ack(req_id))
            return
        try:
            if req_id in link.unacked:
                raise ShapeError(f"{cmd} for a req_id whose last frame is not acknowledged yet")
            self._answer(link, cmd, req_id, body)
        except ShapeError as err:
            self._violate(str(err))
            await link.send(ack(req_id, INVALID_PARAMETER, f"{err} (emulator)"))
            return
        except _DropLink:
            await link.websocket.close(1011)
            return
        await self._ack(link, req_id)

    def _answer(self, link: _Link, cmd: str, req_id: str, body: dict[str, Any]) -> None:
        bot_id = link.bot.bot_id
        if cmd == RESPOND:
            asked = self._asked(link, req_id, "message", self.respond_seconds)
            self._keep_frame(bot_id, asked, *check_stream(body))
        elif cmd == RESPOND_WELCOME:
            asked = self._asked(link, req_id, "enter_chat", WELCOME_SECONDS)
            self._keep(BotReply(bot_id, "welcome", check_welcome(body), chat_id=asked.chat))
        elif cmd == SEND:
            chat_id, content = check_markdown(body)
            self._keep(BotReply(bot_id, "markdown", content, chat_id=chat_id))
        else:
            raise ShapeError(f"{cmd} on a connection already subscribed")

    def _asked(self, link: _Link, req_id: str, kind: str, seconds: float) -> _Asked:
        asked = link.asked.get(req_id)
        if asked is None or asked.kind != kind:
            raise ShapeError(f"an answer to a req_id that is not a {kind} of this connection")
        if time.time() - asked.at > seconds:
            raise ShapeError(f"an answer to a {kind} after its {seconds:.0f} s")
        return asked

    def _keep_frame(
        self, bot_id: str, asked: _Asked, stream_id: str, content: str, finish: bool,
        feedback_id: str | None,
    ) -> None:
        with self._lock:
            frames = self._streams.setdefault(stream_id, [])
            if frames and frames[-1].finish:
                raise ShapeError(f"a frame for stream {stream_id} after its finish")
            if feedback_id is not None and frames:
                raise ShapeError("a feedback id on a stream frame other than the first")
            if self._drop_on.get(stream_id, 0) == len(frames) + 1:
                del self._drop_on[stream_id]
                raise _DropLink
            frames.append(StreamFrame(content, finish, feedback_id))
        self._tell(BotReply(bot_id, "stream", content, finish, asked.msgid, asked.chat))

    def _keep(self, reply: BotReply) -> None:
        with self._lock:
            self._sent.append(reply)
        self._tell(reply)

    def _tell(self, reply: BotReply) -> None:
        if self._on_reply is not None:
            self._on_reply(reply)

    async def _ack(self, link: _Link, req_id: str) -> None:
        if not self.ack_delay:
            await link.send(ack(req_id))
            return
        link.unacked.add(req_id)

        async def later() -> None:
            await asyncio.sleep(self.ack_delay)
            link.unacked.discard(req_id)
            await link.send(ack(req_id))

        task = asyncio.create_task(later())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _push(self, bot: AiBot, cmd: str, body: dict, kind: str, msgid: str) -> str:
        link = self._link_of(bot)
        req_id, text = callback(cmd, body)
        chat = body.get("chatid") or body["from"]["userid"]
        link.asked[req_id] = _Asked(kind, msgid, chat, time.time())
        await link.send(text)
        return req_id

    async def _disconnect(self, link: _Link) -> None:
        _, text = callback(EVENT_CALLBACK, event(link.bot.bot_id, "", "disconnected_event"))
        try:
            await link.send(text)
            await link.websocket.close(1000)
        except (RuntimeError, WebSocketDisconnect):
            pass  # it was gone already

    def _link_of(self, bot: AiBot) -> _Link:
        link = self._links.get(bot.bot_id)
        if link is None:
            raise RuntimeError(f"bot {bot.bot_id} has no connection")
        return link

    def _violate(self, rule: str) -> None:
        with self._lock:
            self._violations.append(rule)
