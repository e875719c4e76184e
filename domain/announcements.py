"""Messages the company sends first: how far one has come, read from its own stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.events import (
    AnnouncementFailed,
    AnnouncementPartSent,
    AnnouncementRequested,
    AnnouncementSent,
    Event,
)

SENT, FAILED, SENDING = "sent", "failed", "sending"
# The conversation id of announcements: no member's, so no memory ever reads them.
ANNOUNCEMENTS = "admin/announcements"


def announcement_stream(idempotency_key: str) -> str:
    return f"announce:{idempotency_key}"


@dataclass(frozen=True)
class AnnouncementOutcome:
    requested: AnnouncementRequested
    status: str  # SENT, FAILED, or SENDING (still going, or stopped by a crash)
    sent_parts: int
    invalid_users: tuple[str, ...]
    invalid_departments: tuple[int, ...]
    invalid_tags: tuple[int, ...]
    error: str | None
    errcode: int | None


def announcement_outcome(events: Sequence[Event]) -> AnnouncementOutcome:
    """`events` is one announcement's stream, in version order."""
    requested: AnnouncementRequested = events[0]  # version 1 of every announcement
    sent = [event for event in events if isinstance(event, AnnouncementPartSent)]
    failed = next((event for event in events if isinstance(event, AnnouncementFailed)), None)
    status = SENDING
    if failed is not None:
        status = FAILED
    elif any(isinstance(event, AnnouncementSent) for event in events):
        status = SENT
    return AnnouncementOutcome(
        requested,
        status,
        len(sent),
        _union(part.invalid_users for part in sent),
        _union(part.invalid_departments for part in sent),
        _union(part.invalid_tags for part in sent),
        None if failed is None else failed.reason,
        None if failed is None else failed.errcode,
    )


def _union(lists) -> tuple:
    return tuple(dict.fromkeys(item for items in lists for item in items))
