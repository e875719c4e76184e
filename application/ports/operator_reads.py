"""What the operator's view reads from the store, and the store's health."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from domain.events import Event


@dataclass(frozen=True)
class StoreStatistics:
    events_by_type: dict[str, int]
    pending_messages: int


@dataclass(frozen=True)
class ReceivedEntry:
    """A received message as the store's message index lists it, for finding messages by
    conversation, sender or MsgId; its content and fate are in its stream."""

    position: int  # of its MessageReceived: newest-first pages continue before it
    stream_id: str
    conversation_id: str
    from_user: str
    msg_id: str  # "" for events (enter_agent, ...), which have none
    occurred_at: float


@dataclass(frozen=True)
class RecordedEvent:
    """An event as the store holds it, for the audit export: its fields as recorded (JSON,
    in the schema version it was written in), not as today's classes would read them."""

    position: int  # in the log's global order
    event_type: str
    stream_id: str
    version: int
    conversation_id: str
    occurred_at: float
    schema_version: int
    data: str  # a JSON object


class OperatorReads(Protocol):
    async def statistics(self) -> StoreStatistics:
        """How many events of each type are recorded, and how many messages are unsettled."""

    async def received(
        self,
        limit: int,
        *,
        before_position: int | None = None,
        conversation_id: str | None = None,
        from_user: str | None = None,
        msg_id: str | None = None,
        channel: str | None = None,
    ) -> list[ReceivedEntry]:
        """Up to `limit` received messages, newest first, recorded before `before_position`,
        only those matching every filter given (`channel`: of that channel's conversations)."""

    async def delivery_problems(self, limit: int) -> list[Event]:
        """The newest `limit` DeliveryFailed and DeliveryPostponed events, newest first."""

    async def announcements(self, limit: int) -> list[Event]:
        """The newest `limit` AnnouncementRequested events, newest first."""

    async def events_between(
        self, since: float, until: float, after_position: int, limit: int
    ) -> list[RecordedEvent]:
        """Up to `limit` events recorded at `since` or later and before `until` (epoch
        seconds), after `after_position`, in log order: a page of an export."""


class StoreHealth(Protocol):
    async def ping(self) -> None:
        """Raises when the store cannot be reached."""
