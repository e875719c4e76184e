"""The event store on SQLAlchemy's asyncio engine: SQLite by default, PostgreSQL for
several processes or hosts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.persistence.event_serialization import from_row
from adapters.outbound.persistence.group_commit import GroupCommit
from adapters.outbound.persistence.sqlalchemy_appends import Append, record_appends
from adapters.outbound.persistence.sqlalchemy_operator_reads import OperatorReads
from adapters.outbound.persistence.sqlalchemy_redaction import ContentRemoval
from adapters.outbound.persistence.sqlalchemy_schema import (
    events,
    is_memory_event,
    pending_messages,
)
from adapters.outbound.persistence.sqlalchemy_usage import UsageReads
from adapters.outbound.persistence.store_errors import unavailable_as_port_error
from adapters.outbound.persistence.transaction_runners import reads_for, transactions_for
from application.ports.event_store import ConcurrencyConflict
from application.ports.operator_reads import StoreStatistics
from application.ports.work_queue import PendingMessage
from domain.events import Event, first_version_of_batch

_DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE


class SqlAlchemyEventStore(OperatorReads, UsageReads, ContentRemoval):
    def __init__(self, engine: AsyncEngine):
        self._engine = engine
        self._transactions = transactions_for(engine)
        self._reads = reads_for(engine)
        self._appends: GroupCommit[Append] = GroupCommit(self._write)

    @unavailable_as_port_error("append")
    async def append(self, new_events: Sequence[Event]) -> None:
        """Returns once the transaction holding these events has committed. Appends that
        arrive while another commits are written together in the next transaction."""
        if not new_events:
            return
        append = tuple(new_events)
        first_version_of_batch(append)  # a malformed append fails its caller, not a batch
        await self._appends.submit(append)

    async def aclose(self) -> None:
        await self._transactions.aclose()
        await self._reads.aclose()

    async def _write(self, appends: list[Append]) -> list[Exception | None]:
        try:
            return await self._transactions.run(record_appends, appends)
        except DBAPIError as err:
            if not _raced(err):
                raise
        # Another process took one of these (stream_id, version) pairs between the check and
        # the insert (PostgreSQL): the batch is rolled back, and each append is tried alone.
        return [await self._write_alone(append) for append in appends]

    async def _write_alone(self, append: Append) -> Exception | None:
        try:
            [outcome] = await self._transactions.run(record_appends, [append])
        except DBAPIError as err:
            if not _raced(err):
                raise
            conflict = ConcurrencyConflict(f"{append[0].stream_id}: version already taken")
            conflict.__cause__ = err
            return conflict
        return outcome

    @unavailable_as_port_error("read")
    async def read_stream(self, stream_id: str) -> list[Event]:
        return await self._reads.run(_stream, stream_id)

    @unavailable_as_port_error("read")
    async def memory(
        self, conversation_id: str, before_position: int | None, limit: int
    ) -> list[Event]:
        return await self._reads.run(_memory, (conversation_id, before_position, limit))

    @unavailable_as_port_error("read")
    async def position_of(self, stream_id: str, version: int) -> int:
        position = await self._reads.run(_position, (stream_id, version))
        if position is None:
            raise KeyError(f"{stream_id} has no version {version}")
        return position

    @unavailable_as_port_error("read")
    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(select(1))

    @unavailable_as_port_error("read")
    async def pending(self, conversation_id: str | None = None) -> list[PendingMessage]:
        return await self._reads.run(_pending, conversation_id)

    async def statistics(self) -> StoreStatistics:
        by_type = select(events.c.event_type, func.count()).group_by(events.c.event_type)
        pending = select(func.count()).select_from(pending_messages)
        async with self._engine.connect() as conn:
            counts = {row[0]: row[1] for row in (await conn.execute(by_type)).all()}
            pending_count = (await conn.execute(pending)).scalar_one()
        return StoreStatistics(events_by_type=counts, pending_messages=pending_count)


# The frequent reads, run whole on the store's reader (SQLite's reader thread, or the async
# engine's connection through run_sync). Each statement is built once: building it and its
# cache key anew for every read was a few percent of each answer's CPU (profiled).
_STREAM = (
    select(events).where(events.c.stream_id == bindparam("stream_id")).order_by(events.c.version)
)
_MEMORY = (
    select(events)
    .where(events.c.conversation_id == bindparam("conversation_id"), is_memory_event)
    .order_by(events.c.position.desc())
    .limit(bindparam("limit"))
)
_MEMORY_BEFORE = _MEMORY.where(events.c.position < bindparam("before"))
_POSITION = select(events.c.position).where(
    events.c.stream_id == bindparam("stream_id"), events.c.version == bindparam("version")
)
_ALL_PENDING = select(pending_messages).order_by(pending_messages.c.position)
_PENDING = _ALL_PENDING.where(pending_messages.c.conversation_id == bindparam("conversation_id"))


def _stream(conn: Connection, stream_id: str) -> list[Event]:
    return [from_row(row) for row in conn.execute(_STREAM, {"stream_id": stream_id})]


def _memory(conn: Connection, where: tuple[str, int | None, int]) -> list[Event]:
    conversation_id, before_position, limit = where
    values = {"conversation_id": conversation_id, "limit": limit}
    if before_position is None:
        return [from_row(row) for row in conn.execute(_MEMORY, values)]
    values["before"] = before_position
    return [from_row(row) for row in conn.execute(_MEMORY_BEFORE, values)]


def _position(conn: Connection, key: tuple[str, int]) -> int | None:
    stream_id, version = key
    values = {"stream_id": stream_id, "version": version}
    return conn.execute(_POSITION, values).scalar_one_or_none()


def _pending(conn: Connection, conversation_id: str | None) -> list[PendingMessage]:
    if conversation_id is None:
        rows = conn.execute(_ALL_PENDING)
    else:
        rows = conn.execute(_PENDING, {"conversation_id": conversation_id})
    return [PendingMessage(row.stream_id, row.conversation_id, row.position) for row in rows]


def _raced(err: DBAPIError) -> bool:
    """A unique key taken, or a deadlock between two processes' batches: both mean another
    writer got there first, not a store that fails."""
    sqlstate = getattr(err.orig, "sqlstate", None)
    return isinstance(err, IntegrityError) or sqlstate == _DEADLOCK_DETECTED
