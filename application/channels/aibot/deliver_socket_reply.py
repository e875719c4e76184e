"""Delivering a reply to an AI bot message that came over the long connection.

The first part finishes the message's stream (its last frame, answering the req_id) while the
req_id can still be answered: over the connection that brought it, before the stream's
deadline. Otherwise, and for the continuation of an answer too long for one stream, the part
goes as markdown the bot sends on its own (aibot_send_msg). An answer to enter_chat is the
welcome, which WeCom takes within 5 s only.

Each part is recorded once WeCom has acknowledged it, so a dropped link, a crash or another
process picking the message up sends only what is not recorded: never twice (but for the
instant between an ack and its record, as for the app: a store that cannot record it holds
the fact in memory, DeliveryRecords), never lost while the link comes back
before `give_up_after_seconds`. While the link is down nothing is tried and nothing recorded:
the message waits, and is looked at again when the link is back.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from application.channels.aibot.stream_board import StreamTiming
from application.pipeline.delivery_records import DeliveryRecords
from application.pipeline.postponed import Postponed
from application.ports.aibot_link import AiBotLink, LinkDown
from application.ports.event_store import ConcurrencyConflict, EventStore
from application.ports.wecom import DeliveryError
from domain.delivery_policy import retry_delay, should_give_up
from domain.events import (
    DeliveryFailed,
    DeliveryPostponed,
    Event,
    ImageComposed,
    ReplyDelivered,
    ReplyPartSent,
)
from domain.message_progress import MessageProgress
from domain.messages import InboundMessage

log = logging.getLogger(__name__)

# WeCom takes a welcome within 5 s of the enter_chat event (WECOM.md).
WELCOME_SECONDS = 5.0
# How often a reply waiting for the link looks again, besides when the link comes back.
LINK_WAIT_SECONDS = 5.0
_ATTEMPTS = 3


class DeliverSocketReply:
    def __init__(
        self,
        store: EventStore,
        link: AiBotLink,
        timing: StreamTiming,
        give_up_after_seconds: float,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ):
        self._records = DeliveryRecords(store)
        self._link = link
        self._timing = timing
        self._give_up_after = give_up_after_seconds
        self._clock = clock
        self._jitter = jitter

    async def __call__(self, progress: MessageProgress) -> Postponed | None:
        now = self._clock()
        if progress.retry_at > now:
            return Postponed(progress.retry_at)
        progress = await self._records.settle(progress)
        unsent = progress.unsent_parts()
        if unsent and isinstance(progress.reply, ImageComposed):
            return await self._fail(progress, 0, "the AI bot cannot send pictures")
        if unsent and not self._link.is_up():
            if should_give_up(progress.received.occurred_at, now, self._give_up_after):
                reason = f"the long connection was down for {self._give_up_after:.0f}s"
                return await self._fail(progress, unsent[0][0], reason)
            return Postponed(now + LINK_WAIT_SECONDS)
        for index, part in unsent:
            try:
                await self._send(progress, index, part)
            except DeliveryError as err:
                return await self._not_taken(progress, index, err)
            progress = await self._record(progress, ReplyPartSent, index=index)
        await self._record(progress, ReplyDelivered)
        log.info("answered %s over the long connection", progress.reply.stream_id)
        return None

    async def _record(
        self, progress: MessageProgress, event_type: type[Event], **fields: object
    ) -> MessageProgress:
        """Appends the message's next event. The worker holds the conversation's lease, so the
        only other writer is a member's rating (FeedbackGiven), which may land between a
        frame and its record: then the stream is read again and the event recorded after it
        (what happened is still true); never is a part sent again for it."""
        for _ in range(_ATTEMPTS):
            try:
                await self._records.append([progress.record(event_type, **fields)])
                return progress
            except ConcurrencyConflict:
                events = await self._records.read_stream(progress.received.stream_id)
                progress = MessageProgress.from_events(events)
        raise ConcurrencyConflict(f"{progress.received.stream_id} kept changing")

    async def _send(self, progress: MessageProgress, index: int, part: str) -> None:
        received = progress.received
        message = received.message
        answerable = self._link.answers(message.req_id)
        if message.msg_type == "event":  # only a welcome answers an event
            if not (answerable and self._clock() < received.occurred_at + WELCOME_SECONDS):
                raise DeliveryError("the welcome's 5 s window has passed", permanent=True)
            await self._link.respond_welcome(message.req_id, part)
        elif index == 0 and answerable and self._clock() < self._deadline(progress):
            try:
                await self._link.respond_stream(
                    message.req_id, message.msg_id, part, finish=True, feedback_id=message.msg_id
                )
            except DeliveryError as err:
                if not err.permanent:
                    raise
                # WeCom no longer takes frames for this req_id: the bot says it on its own.
                log.info("%s: %s; sent as a message", progress.reply.stream_id, err.reason)
                await self._send_markdown(message, part)
        else:
            await self._send_markdown(message, part)

    async def _send_markdown(self, message: InboundMessage, part: str) -> None:
        await self._link.send_markdown(message.chat_id or message.from_user, part)

    def _deadline(self, progress: MessageProgress) -> float:
        return self._timing.deadline(progress.received.occurred_at)

    async def _not_taken(
        self, progress: MessageProgress, index: int, err: DeliveryError
    ) -> Postponed | None:
        now = self._clock()
        where = f"reply {progress.reply.stream_id} part {index + 1}/{len(progress.reply.parts)}"
        if err.permanent:
            return await self._fail(progress, index, err.reason, err.errcode)
        if should_give_up(progress.received.occurred_at, now, self._give_up_after):
            reason = f"gave up after {self._give_up_after:.0f}s of failed attempts: {err.reason}"
            return await self._fail(progress, index, reason, err.errcode)
        # A dropped link is tried again as soon as it is back; WeCom's refusals back off.
        delay = 0.0 if isinstance(err, LinkDown) else retry_delay(
            progress.postponements, self._jitter()
        )
        await self._record(
            progress, DeliveryPostponed, index=index, reason=err.reason, retry_at=now + delay,
            errcode=err.errcode,
        )
        log.warning("%s postponed: %s", where, err.reason)
        return Postponed(now + max(delay, LINK_WAIT_SECONDS))

    async def _fail(
        self, progress: MessageProgress, index: int, reason: str, errcode: int | None = None
    ) -> None:
        log.warning("AI bot reply %s not delivered: %s", progress.reply.stream_id, reason)
        await self._record(progress, DeliveryFailed, index=index, reason=reason, errcode=errcode)
        return None
