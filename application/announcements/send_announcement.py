"""Messages the company sends first (a notice to a department, a daily digest from cron):
recorded as events, split into WeCom-sized parts, paced like every message to a member, and
sent exactly once per idempotency key: the request that records the announcement sends it,
and a retried request (same key) gets the first one's result instead of a second message.

WeCom has no idempotency key of its own, so a crash between WeCom taking a part and the
record of it leaves the announcement "sending" for good; it is not resumed, since resuming
could send that part twice. The operator's view shows it so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from application.pipeline.channel import UnknownChannel
from application.ports.event_store import ConcurrencyConflict, EventStore
from application.ports.wecom import DeliveryError, Recipients, SendReport
from domain.announcements import (
    ANNOUNCEMENTS,
    AnnouncementOutcome,
    announcement_outcome,
    announcement_stream,
)
from domain.events import (
    AnnouncementFailed,
    AnnouncementPartSent,
    AnnouncementRequested,
    AnnouncementSent,
    Event,
)
from domain.reply_text import split_parts

log = logging.getLogger(__name__)


class Announcer(Protocol):
    """A channel's way to send first (message/send for an app)."""

    async def send(self, recipients: Recipients, msgtype: str, part: str) -> SendReport:
        """Raises DeliveryError when WeCom does not take the message."""


class CannotSendFirst(LookupError):
    """The channel has no way to send a message nobody asked for (an AI bot in callback
    mode can only answer)."""


class KeyReused(ValueError):
    """The idempotency key was used before for a different message."""


@dataclass(frozen=True)
class Announcement:
    idempotency_key: str
    channel: str
    recipients: Recipients
    msgtype: str
    content: str
    requested_from: str


class SendAnnouncement:
    """`announcers`: every configured channel, with its Announcer (None: cannot send first)."""

    def __init__(
        self,
        store: EventStore,
        announcers: Mapping[str, Announcer | None],
        clock: Callable[[], float] = time.time,
    ):
        self._store = store
        self._announcers = announcers
        self._clock = clock

    async def __call__(self, announcement: Announcement) -> tuple[AnnouncementOutcome, bool]:
        """The announcement's outcome, and whether this call sent it (False: a retry, whose
        answer is the first request's). Raises UnknownChannel, CannotSendFirst, KeyReused."""
        if announcement.channel not in self._announcers:
            raise UnknownChannel(announcement.channel)
        announcer = self._announcers[announcement.channel]
        if announcer is None:
            raise CannotSendFirst(announcement.channel)
        requested = self._requested(announcement)
        try:
            await self._store.append([requested])
        except ConcurrencyConflict:
            first = await self._store.read_stream(requested.stream_id)
            if not _same_message(first[0], requested):
                raise KeyReused(announcement.idempotency_key) from None
            return announcement_outcome(first), False
        events = [requested, *await self._send(announcer, requested)]
        return announcement_outcome(events), True

    def _requested(self, announcement: Announcement) -> AnnouncementRequested:
        recipients = announcement.recipients
        return AnnouncementRequested(
            stream_id=announcement_stream(announcement.idempotency_key),
            version=1,
            conversation_id=ANNOUNCEMENTS,
            occurred_at=self._clock(),
            channel=announcement.channel,
            to_users=recipients.users,
            to_departments=recipients.departments,
            to_tags=recipients.tags,
            msgtype=announcement.msgtype,
            content=announcement.content,
            parts=split_parts(announcement.content),
            requested_from=announcement.requested_from,
        )

    async def _send(self, announcer: Announcer, requested: AnnouncementRequested) -> list[Event]:
        recipients = Recipients(requested.to_users, requested.to_departments, requested.to_tags)
        recorded: list[Event] = []

        async def record(event_type: type[Event], **fields: object) -> None:
            event = event_type(
                stream_id=requested.stream_id,
                version=requested.version + len(recorded) + 1,
                conversation_id=ANNOUNCEMENTS,
                **fields,
            )
            await self._store.append([event])
            recorded.append(event)

        for index, part in enumerate(requested.parts):
            try:
                report = await announcer.send(recipients, requested.msgtype, part)
            except DeliveryError as err:
                log.warning("announcement %s not sent: %s", requested.stream_id, err.reason)
                await record(
                    AnnouncementFailed, index=index, reason=err.reason, errcode=err.errcode
                )
                return recorded
            await record(
                AnnouncementPartSent,
                index=index,
                wecom_msg_id=report.msgid,
                invalid_users=report.invalid_users,
                invalid_departments=report.invalid_departments,
                invalid_tags=report.invalid_tags,
            )
            if not report.reached_anyone:
                reason = "WeCom reached none of the recipients (errcode 81013)"
                await record(AnnouncementFailed, index=index, reason=reason, errcode=81013)
                return recorded
        await record(AnnouncementSent)
        log.info("announcement %s sent in %d part(s)", requested.stream_id, len(requested.parts))
        return recorded


def _same_message(first: Event, again: AnnouncementRequested) -> bool:
    fields = ("channel", "to_users", "to_departments", "to_tags", "msgtype", "content")
    return all(getattr(first, name, None) == getattr(again, name) for name in fields)
