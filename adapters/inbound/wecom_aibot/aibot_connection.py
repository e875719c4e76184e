"""One subscribed long connection to WeCom for one bot: frames out, each waiting for its ack;
frames in, read one at a time and handed on; a heartbeat that notices a dead link.

WeCom's ack names only the req_id, so frames for one req_id go one at a time: a frame waits
until the one before it on the same req_id is acknowledged (or has failed). The req_ids that
came in over this connection are remembered (the newest MAX_REMEMBERED), since only this
connection may answer them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from adapters.inbound.wecom_aibot.aibot_frames import (
    PING,
    Ack,
    BadFrame,
    Incoming,
    MessageIn,
    Replaced,
    new_req_id,
    read_frame,
    request,
)
from application.ports.aibot_link import LinkDown
from application.ports.telemetry import Telemetry
from application.ports.wecom import DeliveryError

log = logging.getLogger(__name__)

# WeCom answers a frame within milliseconds; the SDK waits 5 s for an ack.
ACK_SECONDS = 5.0
# No frame at all from WeCom (acks of pings included) for this many heartbeats: dead link.
SILENT_HEARTBEATS = 2
MAX_REMEMBERED = 4096
# WeCom's "system busy": worth another try; any other refusal of a frame is final.
_BUSY = (-1, 45009)


class AiBotConnection:
    def __init__(
        self,
        ws: ClientConnection,
        channel: str,
        on_frame: Callable[[Incoming], Awaitable[None]],
        telemetry: Telemetry,
        heartbeat_seconds: float,
        ack_seconds: float = ACK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._ws = ws
        self._channel = channel
        self._on_frame = on_frame
        self._telemetry = telemetry
        self._heartbeat = heartbeat_seconds
        self._ack_seconds = ack_seconds
        self._clock = clock
        self._pending: dict[str, asyncio.Future[Ack]] = {}
        # The req_ids that came in here, each with whether a frame has answered it yet.
        self._received: OrderedDict[str, bool] = OrderedDict()
        self._last_heard = clock()
        self.replaced = False
        self.closed_because = ""

    async def request(self, cmd: str, body: dict[str, Any] | None, req_id: str = "") -> Ack:
        """Sends a frame and returns WeCom's ack of it. Raises LinkDown when the connection
        closes first, DeliveryError when WeCom refuses it or does not answer in time."""
        req_id = req_id or new_req_id(cmd)
        while (previous := self._pending.get(req_id)) is not None:
            await asyncio.wait([previous])
        answered = asyncio.get_running_loop().create_future()
        self._pending[req_id] = answered
        try:
            await self._send(cmd, request(cmd, req_id, body))
            ack = await asyncio.wait_for(asyncio.shield(answered), self._ack_seconds)
        except TimeoutError:
            raise DeliveryError(f"no ack for {cmd} within {self._ack_seconds:.0f}s",
                                permanent=False) from None
        finally:
            if self._pending.get(req_id) is answered:
                del self._pending[req_id]
            if not answered.done():
                answered.cancel()
        if ack.errcode != 0:
            raise DeliveryError(
                f"WeCom refused {cmd}: errcode {ack.errcode} ({ack.errmsg})",
                errcode=ack.errcode,
                permanent=ack.errcode not in _BUSY,
            )
        return ack

    def answers(self, req_id: str) -> bool:
        return req_id in self._received

    def first_frame_for(self, req_id: str) -> bool:
        """True for the first frame that answers `req_id` (which may carry what WeCom takes
        on a stream's first frame only), False after."""
        first = req_id in self._received and not self._received[req_id]
        if first:
            self._received[req_id] = True
        return first

    async def serve(self) -> None:
        """Reads frames until the connection ends; returns why, in `closed_because`."""
        heartbeat = asyncio.create_task(self._beat())
        try:
            async for raw in self._ws:
                self._last_heard = self._clock()
                await self._take(raw)
                if self.replaced:
                    await self._ws.close()
                    break
        except ConnectionClosed as closed:
            self.closed_because = self.closed_because or _why(closed)
        finally:
            heartbeat.cancel()
            self.closed_because = self.closed_because or "closed by WeCom"
            for waiting in self._pending.values():
                if not waiting.done():
                    waiting.set_exception(LinkDown(f"the link closed ({self.closed_because})"))

    async def close(self, why: str) -> None:
        self.closed_because = self.closed_because or why
        await self._ws.close()

    async def _take(self, raw: str | bytes) -> None:
        try:
            frame = read_frame(raw, self._channel, time.time)
        except BadFrame as err:
            self._telemetry.aibot_frame(self._channel, "in", "skipped")
            log.warning("skipped a frame from WeCom: %s", err)
            return
        self._telemetry.aibot_frame(self._channel, "in", type(frame).__name__)
        if isinstance(frame, Ack):
            waiting = self._pending.get(frame.req_id)
            if waiting is not None and not waiting.done():
                waiting.set_result(frame)
            return
        if isinstance(frame, Replaced):
            self.replaced = True
            self.closed_because = "WeCom connected another client for this bot (disconnected_event)"
            return
        if isinstance(frame, MessageIn):
            self._remember(frame.message.req_id)
        await self._on_frame(frame)

    def _remember(self, req_id: str) -> None:
        self._received.setdefault(req_id, False)
        while len(self._received) > MAX_REMEMBERED:
            self._received.popitem(last=False)

    async def _send(self, cmd: str, text: str) -> None:
        try:
            await self._ws.send(text)
        except ConnectionClosed as closed:
            raise LinkDown(f"the link closed ({_why(closed)})") from None
        self._telemetry.aibot_frame(self._channel, "out", cmd)

    async def _beat(self) -> None:
        """A ping every heartbeat; silence for SILENT_HEARTBEATS of them closes the link. Any
        frame from WeCom counts as an answer, so a busy link is never taken for a dead one."""
        while True:
            await asyncio.sleep(self._heartbeat)
            silent = self._clock() - self._last_heard
            if silent >= SILENT_HEARTBEATS * self._heartbeat:
                log.warning("no frame from WeCom for %.0fs: the link is dead", silent)
                with contextlib.suppress(Exception):
                    await self.close(f"nothing heard for {silent:.0f}s")
                return
            with contextlib.suppress(LinkDown):
                await self._send(PING, request(PING, new_req_id(PING)))


def _why(closed: ConnectionClosed) -> str:
    frame = closed.rcvd or closed.sent
    if frame is None:
        return "the connection dropped"
    return f"close code {frame.code}" + (f": {frame.reason[:80]}" if frame.reason else "")
