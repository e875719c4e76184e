"""Where one message stands, in the words an operator (or the sandbox) asks in: was it
answered, and if not, why not. A pure reading of the message's own stream of events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.events import (
    DeliveryFailed,
    DeliveryPostponed,
    Event,
    FeedbackGiven,
    ImageComposed,
    MessageIgnored,
    NoticeComposed,
    ReplyComposed,
    ReplyDelivered,
    ReplyPartSent,
)

# Settled: nothing more will happen to the message.
ANSWERED, IGNORED, FAILED = "answered", "ignored", "failed"
# Unsettled: the service is still on it.
WAITING, SENDING, POSTPONED = "waiting", "sending", "postponed"
SETTLED_STATUSES = (ANSWERED, IGNORED, FAILED)


@dataclass(frozen=True)
class Outcome:
    status: str
    # Why it was ignored, failed or postponed, or which notice answered it; "" otherwise.
    why: str = ""
    # "answer", "notice" or "image" once a reply is composed.
    reply: str = ""
    parts: int = 0
    sent_parts: int = 0

    @property
    def settled(self) -> bool:
        return self.status in SETTLED_STATUSES


def outcome(events: Sequence[Event]) -> Outcome:
    """`events` is one message's stream in version order."""
    composed: ReplyComposed | None = None
    sent: set[int] = set()
    postponed: DeliveryPostponed | None = None
    for event in events:
        if isinstance(event, MessageIgnored):
            return Outcome(IGNORED, why=event.reason)
        if isinstance(event, ReplyComposed):
            composed = event
        elif isinstance(event, ReplyPartSent):
            sent.add(event.index)
            postponed = None
        elif isinstance(event, DeliveryPostponed):
            postponed = event
    if composed is None:
        return Outcome(WAITING)
    reply, why = _kind(composed)
    shape = {"reply": reply, "parts": len(composed.parts), "sent_parts": len(sent)}
    # A member's rating comes after the message's fate and does not change it.
    last = next(e for e in reversed(events) if not isinstance(e, FeedbackGiven))
    if isinstance(last, DeliveryFailed):
        return Outcome(FAILED, why=last.reason, **shape)
    if isinstance(last, ReplyDelivered):
        return Outcome(ANSWERED, why=why, **shape)
    if postponed is not None:
        return Outcome(POSTPONED, why=postponed.reason, **shape)
    return Outcome(SENDING, why=why, **shape)


def _kind(reply: ReplyComposed) -> tuple[str, str]:
    if isinstance(reply, NoticeComposed):
        return "notice", reply.reason
    if isinstance(reply, ImageComposed):
        return "image", ""
    return "answer", ""
