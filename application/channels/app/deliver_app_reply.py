"""Delivering a composed reply part by part, each part recorded once WeCom has taken it.

WeCom offers no idempotency key, so a crash in the instant between WeCom's answer and the
record of that answer can send that one part again; every other moment is covered (a store
that cannot record it holds the fact in memory: DeliveryRecords).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from application.channels.app.send_pacer import SendPacer
from application.pipeline.delivery_records import DeliveryRecords
from application.pipeline.operator_alerts import OperatorAlerts
from application.pipeline.postponed import Postponed
from application.ports.event_store import EventStore
from application.ports.wecom import DeliveryError, WeComGateway
from domain.delivery_policy import retry_delay, should_give_up
from domain.events import (
    DeliveryFailed,
    DeliveryPostponed,
    ImageComposed,
    ReplyComposed,
    ReplyDelivered,
    ReplyPartSent,
)
from domain.message_progress import MessageProgress

log = logging.getLogger(__name__)


class DeliverAppReply:
    def __init__(
        self,
        store: EventStore,
        gateway: WeComGateway,
        pacer: SendPacer,
        alerts: OperatorAlerts,
        give_up_after_seconds: float,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        markdown: bool = False,
    ):
        self._store = store
        self._records = DeliveryRecords(store)
        self._gateway = gateway
        self._pacer = pacer
        self._alerts = alerts
        self._give_up_after = give_up_after_seconds
        self._clock = clock
        self._jitter = jitter
        self._markdown = markdown

    async def __call__(self, progress: MessageProgress) -> Postponed | None:
        if progress.retry_at > self._clock():
            return Postponed(progress.retry_at)
        progress = await self._records.settle(progress)
        reply = progress.reply
        unsent = progress.unsent_parts()
        for count, (index, part) in enumerate(unsent, start=1):
            await self._pacer.wait_turn(reply.to_chat or reply.to_user)
            try:
                wecom_msg_id = await self._send(reply, part)
            except DeliveryError as err:
                return await self._not_taken(progress, index, err)
            sent = progress.record(ReplyPartSent, index=index, wecom_msg_id=wecom_msg_id)
            # The last part's record and the reply's end in one append: a commit less for
            # every answer (most are one part).
            last = [progress.record(ReplyDelivered)] if count == len(unsent) else []
            await self._records.append([sent, *last])
        if not unsent:
            await self._store.append([progress.record(ReplyDelivered)])
        log.info("replied to %s in %d part(s)", reply.stream_id, len(reply.parts))
        return None

    async def _send(self, reply: ReplyComposed, part: str) -> str:
        gateway = self._gateway
        if isinstance(reply, ImageComposed):
            if reply.to_chat:
                return await gateway.send_chat_image(reply.to_chat, part)
            return await gateway.send_image(reply.to_user, part)
        if self._markdown:
            if reply.to_chat:
                return await gateway.send_chat_markdown(reply.to_chat, part)
            return await gateway.send_markdown(reply.to_user, part)
        if reply.to_chat:
            return await gateway.send_chat_text(reply.to_chat, part)
        return await gateway.send_text(reply.to_user, part)

    async def _not_taken(
        self, progress: MessageProgress, index: int, err: DeliveryError
    ) -> Postponed | None:
        reply = progress.reply
        where = f"reply {reply.stream_id} part {index + 1}/{len(reply.parts)}"
        now = self._clock()
        if err.permanent:
            # The advice goes to the operator once per cause; each message gets a short line.
            self._alerts.delivery_refused(_cause(err), err.reason)
            log.warning("%s not delivered (%s, permanent)", where, _cause(err))
            await self._fail(progress, index, err.reason, err.errcode)
            return None
        if should_give_up(progress.received.occurred_at, now, self._give_up_after):
            reason = f"gave up after {self._give_up_after:.0f}s of failed attempts: {err.reason}"
            log.warning("%s not delivered: %s", where, reason)
            await self._fail(progress, index, reason, err.errcode)
            return None
        retry_at = now + retry_delay(progress.postponements, self._jitter())
        postponed = progress.record(
            DeliveryPostponed,
            index=index,
            reason=err.reason,
            retry_at=retry_at,
            errcode=err.errcode,
        )
        await self._store.append([postponed])
        log.warning("%s postponed %.0fs: %s", where, retry_at - now, err.reason)
        return Postponed(retry_at)

    async def _fail(
        self, progress: MessageProgress, index: int, reason: str, errcode: int | None
    ) -> None:
        failed = progress.record(DeliveryFailed, index=index, reason=reason, errcode=errcode)
        await self._store.append([failed])


def _cause(err: DeliveryError) -> str:
    return f"errcode {err.errcode}" if err.errcode is not None else "no errcode"
