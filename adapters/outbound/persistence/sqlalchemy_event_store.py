"""The event store on SQLAlchemy's asyncio engine: SQLite by default, PostgreSQL for
several processes or hosts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.outbound.persistence.event_serialization import from_row, to_row
from adapters.outbound.persistence.sqlalchemy_operator_reads import OperatorReads, index_received
from adapters.outbound.persistence.sqlalchemy_redaction import ContentRemoval
from adapters.outbound.persistence.sqlalchemy_schema import (
    events,
    is_memory_event,
    pending_messages,
)
from adapters.outbound.persistence.sqlalchemy_usage import UsageReads, add_usage
from application.ports.event_store import ConcurrencyConflict
from application.ports.operator_reads import StoreStatistics
from application.ports.work_queue import PendingMessage
from domain.events import Event, MessageReceived, ModelUsed, first_version_of_batch


class SqlAlchemyEventStore(OperatorReads, UsageReads, ContentRemoval):
    def __init__(self, engine: AsyncEngine):
        self._engine = engine

    async def append(self, new_events: Sequence[Event]) -> None:
        if not new_events:
            return
        stream_id = new_events[0].stream_id
        try:
            async with self._engine.begin() as conn:
                await self._check_next_version(conn, stream_id, new_events)
                for event in new_events:
                    await self._insert(conn, event)
        except IntegrityError as err:
            # Another writer took one of these (stream_id, version) pairs first.
            raise ConcurrencyConflict(f"{stream_id}: version already taken") from err

    async def read_stream(self, stream_id: str) -> list[Event]:
        query = select(events).where(events.c.stream_id == stream_id).order_by(events.c.version)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [from_row(row) for row in rows]

    async def memory(
        self, conversation_id: str, before_position: int | None, limit: int
    ) -> list[Event]:
        query = (
            select(events)
            .where(events.c.conversation_id == conversation_id, is_memory_event)
            .order_by(events.c.position.desc())
            .limit(limit)
        )
        if before_position is not None:
            query = query.where(events.c.position < before_position)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [from_row(row) for row in rows]

    async def position_of(self, stream_id: str, version: int) -> int:
        query = select(events.c.position).where(
            events.c.stream_id == stream_id, events.c.version == version
        )
        async with self._engine.connect() as conn:
            position = (await conn.execute(query)).scalar_one_or_none()
        if position is None:
            raise KeyError(f"{stream_id} has no version {version}")
        return position

    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(select(1))

    async def pending(self, conversation_id: str | None = None) -> list[PendingMessage]:
        query = select(pending_messages).order_by(pending_messages.c.position)
        if conversation_id is not None:
            query = query.where(pending_messages.c.conversation_id == conversation_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            PendingMessage(row.stream_id, row.conversation_id, row.position) for row in rows
        ]

    async def statistics(self) -> StoreStatistics:
        by_type = select(events.c.event_type, func.count()).group_by(events.c.event_type)
        pending = select(func.count()).select_from(pending_messages)
        async with self._engine.connect() as conn:
            counts = {row[0]: row[1] for row in (await conn.execute(by_type)).all()}
            pending_count = (await conn.execute(pending)).scalar_one()
        return StoreStatistics(events_by_type=counts, pending_messages=pending_count)

    @staticmethod
    async def _check_next_version(
        conn: AsyncConnection, stream_id: str, new_events: Sequence[Event]
    ) -> None:
        first = first_version_of_batch(new_events)
        if first == 1:
            return  # the unique constraint alone decides who records a message first
        query = select(func.max(events.c.version)).where(events.c.stream_id == stream_id)
        current = (await conn.execute(query)).scalar_one_or_none() or 0
        if current != first - 1:
            raise ConcurrencyConflict(
                f"{stream_id}: at version {current}, cannot append version {first}"
            )

    @staticmethod
    async def _insert(conn: AsyncConnection, event: Event) -> None:
        result = await conn.execute(insert(events).values(**to_row(event)))
        if isinstance(event, MessageReceived):
            await conn.execute(
                insert(pending_messages).values(
                    stream_id=event.stream_id,
                    conversation_id=event.conversation_id,
                    position=result.inserted_primary_key[0],
                )
            )
            await index_received(conn, event, result.inserted_primary_key[0])
        if isinstance(event, ModelUsed):
            await add_usage(conn, event)
        if event.settles_message:
            await conn.execute(
                delete(pending_messages).where(pending_messages.c.stream_id == event.stream_id)
            )
