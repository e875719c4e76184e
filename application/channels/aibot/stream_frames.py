"""An answer still being written, shown to the member as stream frames over the long
connection: the latest content, one frame at a time (each waits for WeCom's ack), at most a
few a second, so a fast model costs a bounded number of frames and a slow link never queues
them up. Only the newest content matters: what was overtaken while a frame was in flight is
never sent.

The final frame (finish) is not sent here: it is the reply's delivery, recorded like any other
(DeliverSocketReply). A stream still open at its deadline is closed here with a note that the
answer follows as a message of its own, as the callback mode's stream is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from application.ports.aibot_link import AiBotLink
from application.ports.wecom import DeliveryError
from domain.aibot_text import taking_longer

log = logging.getLogger(__name__)

# Four frames a second at most: the member sees the answer grow, WeCom is not flooded.
FRAME_GAP_SECONDS = 0.25


class StreamFrames:
    def __init__(
        self,
        link: AiBotLink,
        req_id: str,
        stream_id: str,
        deadline: float,
        *,
        gap_seconds: float = FRAME_GAP_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        self._link = link
        self._req_id = req_id
        self._stream_id = stream_id
        self._deadline = deadline
        self._gap = gap_seconds
        self._clock = clock
        self._latest = ""
        self._sent: str | None = None
        self._changed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Opens the stream at once (empty), if the message can still be answered by frames."""
        if self._link.answers(self._req_id) and self._clock() < self._deadline:
            self._task = asyncio.create_task(self._run())

    def show(self, content: str) -> None:
        self._latest = content
        self._changed.set()

    async def stop(self) -> None:
        """No more frames; waits for the one in flight, whose ack must not be taken for the
        final frame's (WeCom's acks name only the req_id)."""
        self._stopping.set()
        self._changed.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            left = self._deadline - self._clock()
            if left <= 0:
                await self._close_late()
                return
            if self._stopping.is_set():
                return
            if self._latest != self._sent:
                if not await self._send(self._latest, finish=False):
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._gap)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
            self._changed.clear()

    async def _close_late(self) -> None:
        if await self._send(taking_longer(self._sent or ""), finish=True):
            log.info("stream %s closed at its deadline; the answer follows", self._stream_id)

    async def _send(self, content: str, *, finish: bool) -> bool:
        try:
            await self._link.respond_stream(
                self._req_id, self._stream_id, content, finish=finish, feedback_id=self._stream_id
            )
        except DeliveryError as err:
            # The answer is not lost: its delivery sends it whole, by frame or by message.
            log.info("stream %s stopped growing: %s", self._stream_id, err.reason)
            return False
        self._sent = content
        return True
