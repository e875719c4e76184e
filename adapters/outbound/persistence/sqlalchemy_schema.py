"""The tables, in one database: the event log, the pending-work projection kept in the same
transaction as the log, and what several processes must share that is not a business fact
(the access-token cache, leases). Changes to them go through sqlalchemy_migrations."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    literal_column,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from domain.events import MEMORY_EVENT_TYPES

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY (its rowid).
Position = BigInteger().with_variant(Integer, "sqlite")

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("stream_id", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("conversation_id", String(255), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("occurred_at", Float, nullable=False),
    Column("data", Text, nullable=False),
    UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
)


def event_type_in(types: tuple[str, ...]) -> ColumnElement[bool]:
    """The condition for a partial index's events and for the queries that read through it.
    The types are written into the statement, not bound: a database uses a partial index only
    when it can see that the query's condition implies the index's, and a bound list hides
    that (SQLite then scanned the whole log for every answer's memory). Written as literal
    columns, they are part of the statement SQLAlchemy compiles once and caches; a bound list
    rendered at execution was redone for every read."""
    if not all(name.isidentifier() for name in types):
        raise ValueError(f"event types are identifiers, written into SQL as they are: {types}")
    return events.c.event_type.in_([literal_column(f"'{name}'") for name in types])


is_memory_event = event_type_in(MEMORY_EVENT_TYPES)

# A partial index: reading a conversation's memory newest-first walks only memory events,
# so its cost follows the window read, not everything else the conversation recorded.
Index(
    "ix_events_memory",
    events.c.conversation_id,
    events.c.position,
    sqlite_where=is_memory_event,
    postgresql_where=is_memory_event,
)

pending_messages = Table(
    "pending_messages",
    metadata,
    Column("stream_id", String(255), primary_key=True),
    Column("conversation_id", String(255), nullable=False),
    Column("position", Position, nullable=False),
    Index("ix_pending_conversation", "conversation_id", "position"),
)

# The message index: one row per MessageReceived, written in the same transaction, so the
# operator's view finds messages by conversation, sender or MsgId reading only the rows shown.
received_messages = Table(
    "received_messages",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=False),
    Column("stream_id", String(255), nullable=False, unique=True),
    Column("conversation_id", String(255), nullable=False),
    Column("from_user", String(255), nullable=False),
    Column("msg_id", String(64), nullable=False),
    Column("occurred_at", Float, nullable=False),
    Index("ix_received_conversation", "conversation_id", "position"),
    Index("ix_received_sender", "from_user", "position"),
    Index("ix_received_msg_id", "msg_id"),
)

# The usage projection: one row per UTC day, channel, member and main department (0: not
# known), summed from ModelUsed events in the transaction that appends them, so totals and
# quotas read these rows, never the log. ix_usage_member, on (channel, member, day), is made
# by migration 8 (sqlalchemy_usage), not here: migration 4 creates the table from this.
usage_totals = Table(
    "usage_totals",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("channel", String(64), primary_key=True),
    Column("member", String(255), primary_key=True),
    Column("department", BigInteger, primary_key=True),
    Column("calls", BigInteger, nullable=False),
    Column("estimated_calls", BigInteger, nullable=False),
    Column("tokens_in", BigInteger, nullable=False),
    Column("tokens_out", BigInteger, nullable=False),
    Column("pictures", BigInteger, nullable=False),
    Column("audio_seconds", Float, nullable=False),
    Index("ix_usage_department", "channel", "department", "day"),
)

# How far the retention job has removed content, oldest first (one row, "retention").
retention_progress = Table(
    "retention_progress",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", Position, nullable=False),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("owner", String(128), nullable=False),
    Column("expires_at", Float, nullable=False),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("cache_key", String(128), primary_key=True),
    Column("token", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
)

# Pictures members sent, as the model is shown them, by the sha256 of these bytes: kept out of
# the events' JSON, and stored once however often they are shown again.
media_blobs = Table(
    "media_blobs",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("media_type", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("stored_at", Float, nullable=False),
)


def upsert_into(table: Table, dialect_name: str) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that takes ON CONFLICT … DO UPDATE: SQLAlchemy has it per dialect, though
    SQLite and PostgreSQL write the clause alike."""
    return (postgresql if dialect_name == "postgresql" else sqlite).insert(table)
