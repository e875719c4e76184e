"""Delivering a reply to an AI bot message.

An AI bot reply normally needs no sending at all: the stream's next refresh hands it over
(RefreshStream). What remains for a worker is what the stream cannot carry: an answer that
was not ready before the stream's deadline, and the continuation of one too long for the
stream. Each goes as one markdown message through the callback's response_url, the only
message the AI bot may send on its own, within an hour of the question.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from application.channels.aibot.stream_board import RESPONSE_URL_SECONDS, StreamTiming
from application.pipeline.delivery_records import DeliveryRecords
from application.pipeline.postponed import Postponed
from application.ports.event_store import ConcurrencyConflict, EventStore
from application.ports.wecom import AiBotResponseUrl, DeliveryError
from domain.aibot_text import fit
from domain.delivery_policy import retry_delay
from domain.events import (
    DeliveryFailed,
    DeliveryPostponed,
    Event,
    ImageComposed,
    ReplyDelivered,
    ReplyPartSent,
)
from domain.message_progress import MessageProgress

log = logging.getLogger(__name__)


class DeliverAiBotReply:
    def __init__(
        self,
        store: EventStore,
        responder: AiBotResponseUrl,
        timing: StreamTiming,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ):
        self._records = DeliveryRecords(store)
        self._responder = responder
        self._timing = timing
        self._clock = clock
        self._jitter = jitter

    async def __call__(self, progress: MessageProgress) -> Postponed | None:
        now = self._clock()
        if progress.retry_at > now:
            return Postponed(progress.retry_at)
        progress = await self._records.settle(progress)
        unsent = progress.unsent_parts()
        if not unsent:
            return await self._append(progress, [progress.record(ReplyDelivered)])
        if isinstance(progress.reply, ImageComposed):
            return await self._fail(progress, 0, "the AI bot cannot send pictures")
        deadline = self._timing.deadline(progress.received.occurred_at)
        if 0 not in progress.sent_parts and now < deadline:
            # The stream's next refresh hands the reply over; look again at the deadline.
            return Postponed(deadline)
        return await self._post(progress, unsent)

    async def _post(
        self, progress: MessageProgress, unsent: list[tuple[int, str]]
    ) -> Postponed | None:
        message = progress.received.message
        first = unsent[0][0]
        if not message.response_url:
            return await self._fail(progress, first, "the callback gave no response_url")
        if self._clock() >= progress.received.occurred_at + RESPONSE_URL_SECONDS:
            return await self._fail(progress, first, "response_url expired (one hour)")
        # Late, the whole reply goes as one message (cut if WeCom's limit demands it).
        late = first == 0
        content = fit(progress.reply.text) if late else unsent[0][1]
        try:
            await self._responder.post_markdown(message.response_url, content)
        except DeliveryError as err:
            return await self._not_taken(progress, first, err)
        sent = [progress.record(ReplyPartSent, index=index) for index, _ in unsent]
        log.info(
            "answered %s through response_url (%s)",
            progress.reply.stream_id,
            "late" if late else "continuation",
        )
        return await self._append(progress, [*sent, progress.record(ReplyDelivered)])

    async def _not_taken(
        self, progress: MessageProgress, index: int, err: DeliveryError
    ) -> Postponed | None:
        now = self._clock()
        expires = progress.received.occurred_at + RESPONSE_URL_SECONDS
        if err.permanent:
            return await self._fail(progress, index, err.reason)
        retry_at = now + retry_delay(progress.postponements, self._jitter())
        if retry_at >= expires:
            return await self._fail(progress, index, f"response_url expired: {err.reason}")
        postponed = progress.record(
            DeliveryPostponed, index=index, reason=err.reason, retry_at=retry_at
        )
        log.warning(
            "AI bot reply %s postponed %.0fs: %s",
            progress.reply.stream_id, retry_at - now, err.reason,
        )
        await self._append(progress, [postponed])
        return Postponed(retry_at)

    async def _fail(self, progress: MessageProgress, index: int, reason: str) -> None:
        log.warning("AI bot reply %s not delivered: %s", progress.reply.stream_id, reason)
        return await self._append(
            progress, [progress.record(DeliveryFailed, index=index, reason=reason)]
        )

    async def _append(self, progress: MessageProgress, events: list[Event]) -> None:
        try:
            await self._records.append(events)
        except ConcurrencyConflict:
            # A refresh recorded the hand-over meanwhile; the worker reads the message again.
            log.info("%s changed while delivering; looking again", progress.reply.stream_id)
        return None
