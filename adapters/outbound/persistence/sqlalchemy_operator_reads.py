"""The event store's reads for the operator's view, and the message index they use.

Every read is bounded: it walks an index newest-first and stops at its LIMIT, so a page of
the operator's view costs the rows it shows, however long the service has been running.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.persistence.event_serialization import from_row
from adapters.outbound.persistence.sqlalchemy_schema import (
    event_type_in,
    events,
    metadata,
    received_messages,
)
from application.ports.operator_reads import ReceivedEntry, RecordedEvent
from domain.events import Event, MessageReceived
from domain.messages import conversation_prefix

DELIVERY_PROBLEM_TYPES = ("DeliveryFailed", "DeliveryPostponed")
_is_delivery_problem = event_type_in(DELIVERY_PROBLEM_TYPES)
# Plain SQL, frozen with the migration that creates it; both SQLite and PostgreSQL take it.
_DELIVERY_PROBLEMS_INDEX = (
    'CREATE INDEX ix_events_delivery_problems ON events ("position") '
    "WHERE event_type IN ('DeliveryFailed', 'DeliveryPostponed')"
)
_ANNOUNCEMENTS_INDEX = (
    'CREATE INDEX ix_events_announcements ON events ("position") '
    "WHERE event_type = 'AnnouncementRequested'"
)
_BACKFILL_BATCH = 1000


def _index_row(event: MessageReceived, position: int) -> dict:
    return {
        "position": position,
        "stream_id": event.stream_id,
        "conversation_id": event.conversation_id,
        "from_user": event.message.from_user,
        "msg_id": event.message.msg_id,
        "occurred_at": event.occurred_at,
    }


def create_announcements_index(conn: Connection) -> None:
    """Migration 6: the newest announcements are found without reading other events."""
    conn.execute(text(_ANNOUNCEMENTS_INDEX))


def index_received(conn: Connection, received: list[tuple[MessageReceived, int]]) -> None:
    """Called in the transaction that appends the messages (with their positions), so the
    index never lags the log."""
    conn.execute(
        insert(received_messages),
        [_index_row(event, position) for event, position in received],
    )


def create_message_index(conn: Connection) -> None:
    """Migration 2: the message index, filled from the messages already recorded, and an
    index for reading the newest delivery problems."""
    metadata.create_all(conn, tables=[received_messages])
    conn.execute(text(_DELIVERY_PROBLEMS_INDEX))
    after = 0
    while True:
        rows = conn.execute(
            select(events)
            .where(events.c.event_type == "MessageReceived", events.c.position > after)
            .order_by(events.c.position)
            .limit(_BACKFILL_BATCH)
        ).all()
        if not rows:
            return
        conn.execute(
            insert(received_messages),
            [_index_row(from_row(row), row.position) for row in rows],
        )
        after = rows[-1].position


class OperatorReads:
    """Mixed into SqlAlchemyEventStore, whose engine it reads."""

    _engine: AsyncEngine

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
        index = received_messages.c
        query = select(received_messages).order_by(index.position.desc()).limit(limit)
        if before_position is not None:
            query = query.where(index.position < before_position)
        for column, value in (
            (index.conversation_id, conversation_id),
            (index.from_user, from_user),
            (index.msg_id, msg_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if channel is not None:
            prefix = conversation_prefix(channel)
            query = query.where(index.conversation_id.startswith(prefix, autoescape=True))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            ReceivedEntry(
                row.position, row.stream_id, row.conversation_id, row.from_user, row.msg_id,
                row.occurred_at,
            )
            for row in rows
        ]

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Event]]:
        if not stream_ids:
            return {}
        query = (
            select(events)
            .where(events.c.stream_id.in_(list(stream_ids)))
            .order_by(events.c.stream_id, events.c.version)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        found: dict[str, list[Event]] = {}
        for row in rows:
            found.setdefault(row.stream_id, []).append(from_row(row))
        return found

    async def announcements(self, limit: int) -> list[Event]:
        query = (
            select(events)
            .where(events.c.event_type == "AnnouncementRequested")
            .order_by(events.c.position.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [from_row(row) for row in rows]

    async def events_between(
        self, since: float, until: float, after_position: int, limit: int
    ) -> list[RecordedEvent]:
        # Walks the primary key on from `after_position`: one page in memory at a time,
        # however long the range (rows outside it are passed over by the database).
        query = (
            select(events)
            .where(
                events.c.position > after_position,
                events.c.occurred_at >= since,
                events.c.occurred_at < until,
            )
            .order_by(events.c.position)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            RecordedEvent(
                row.position, row.event_type, row.stream_id, row.version, row.conversation_id,
                row.occurred_at, row.schema_version, row.data,
            )
            for row in rows
        ]

    async def delivery_problems(self, limit: int) -> list[Event]:
        query = (
            select(events)
            .where(_is_delivery_problem)
            .order_by(events.c.position.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [from_row(row) for row in rows]
