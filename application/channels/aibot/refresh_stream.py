"""Answering WeCom's stream-refresh callbacks: the answer so far, then the final answer once.

While the model writes, a refresh is answered from this process's board without touching the
database. Once the model has stopped (or when another process or an earlier run holds the
stream), the event store decides: the final answer is handed over at most once, recorded as
ReplyPartSent before the refresh is answered with it, so a crash or a second process can
never deliver it twice. After the stream's deadline it is closed with a note instead, and
the answer goes late through response_url (DeliverAiBotReply).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from application.channels.aibot.stream_board import (
    HANDOVER_MARGIN_SECONDS,
    StreamBoard,
    StreamReply,
    StreamTiming,
)
from application.ports.event_store import ConcurrencyConflict, EventStore
from application.ports.work_queue import WorkNotifier
from domain.aibot_text import taking_longer
from domain.events import ReplyDelivered, ReplyPartSent
from domain.message_progress import MessageProgress
from domain.messages import message_key

log = logging.getLogger(__name__)


class RefreshStream:
    def __init__(
        self,
        channel: str,
        store: EventStore,
        board: StreamBoard,
        notifier: WorkNotifier,
        timing: StreamTiming,
        clock: Callable[[], float] = time.time,
    ):
        self._channel = channel
        self._store = store
        self._board = board
        self._notifier = notifier
        self._timing = timing
        self._clock = clock

    async def __call__(self, stream_id: str) -> StreamReply:
        view = self._board.view(stream_id)
        shown = view.content if view is not None else ""
        if view is not None and view.writing:
            return self._open_or_late(stream_id, shown, view.deadline)
        return await self._from_store(stream_id, shown)

    async def _from_store(self, stream_id: str, shown: str) -> StreamReply:
        progress = MessageProgress.from_events(
            await self._store.read_stream(message_key(self._channel, stream_id))
        )
        if progress.received is None:
            log.warning("refresh for an unknown AI bot stream; closing it")
            return StreamReply(stream_id, "", finish=True)
        reply = progress.reply
        if reply is not None and 0 in progress.sent_parts:
            # Handed over already: a repeated refresh gets the same final content.
            return StreamReply(stream_id, reply.parts[0], finish=True)
        if progress.settled:
            # Ignored after all (e.g. over the rate limit, already told): close it empty.
            return StreamReply(stream_id, "", finish=True)
        deadline = self._timing.deadline(progress.received.occurred_at)
        if reply is None:
            return self._open_or_late(stream_id, shown, deadline)
        if self._clock() >= deadline - HANDOVER_MARGIN_SECONDS:
            return StreamReply(stream_id, taking_longer(shown), finish=True)
        return await self._hand_over(progress, stream_id, shown)

    async def _hand_over(
        self, progress: MessageProgress, stream_id: str, shown: str
    ) -> StreamReply:
        reply = progress.reply
        handed = [progress.record(ReplyPartSent, index=0)]
        if len(reply.parts) == 1:
            handed.append(progress.record(ReplyDelivered))
        try:
            await self._store.append(handed)
        except ConcurrencyConflict:
            # Someone else wrote to the message just now; WeCom asks again in a moment.
            return StreamReply(stream_id, shown, finish=False)
        # The conversation's next message waits for this one to be settled, and a
        # continuation goes through response_url: either way a worker should look now.
        self._notifier.notify(progress.received.conversation_id)
        log.info("streamed reply to %s", reply.stream_id)
        return StreamReply(stream_id, reply.parts[0], finish=True)

    def _open_or_late(self, stream_id: str, shown: str, deadline: float) -> StreamReply:
        if self._clock() < deadline:
            return StreamReply(stream_id, shown, finish=False)
        return StreamReply(stream_id, taking_longer(shown), finish=True)
