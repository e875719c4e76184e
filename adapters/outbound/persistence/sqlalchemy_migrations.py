"""An explicit, versioned schema: each migration runs once per database, in order, even when
several processes start at the same moment.

A migration is recorded in `schema_migrations` in the same transaction as its DDL (both
SQLite and PostgreSQL have transactional DDL). Recording it first takes the write lock, so
a second process starting at the same time waits, then finds the version taken and skips it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.persistence.sqlalchemy_legacy_keys import prefix_legacy_keys
from adapters.outbound.persistence.sqlalchemy_operator_reads import (
    create_announcements_index,
    create_message_index,
)
from adapters.outbound.persistence.sqlalchemy_redaction import create_retention_progress
from adapters.outbound.persistence.sqlalchemy_schema import (
    access_tokens,
    events,
    leases,
    media_blobs,
    metadata,
    pending_messages,
)
from adapters.outbound.persistence.sqlalchemy_usage import (
    create_usage_totals,
    index_usage_by_member,
)

log = logging.getLogger(__name__)


def _create_initial_tables(conn: Connection) -> None:
    metadata.create_all(conn, tables=[events, pending_messages, access_tokens, leases])


# Plain SQL, frozen with the migration that runs it; both SQLite and PostgreSQL take it.
_MEMORY_INDEX_WITH_MEDIA = (
    'CREATE INDEX ix_events_memory ON events (conversation_id, "position") '
    "WHERE event_type IN ('AnswerComposed', 'MemoryCleared', 'PictureSeen', 'FileRead')"
)


def _add_media(conn: Connection) -> None:
    """The blob table for pictures, and the memory index widened to the pictures and files
    the model saw (their events are read with the answers they came with)."""
    metadata.create_all(conn, tables=[media_blobs])
    conn.execute(text("DROP INDEX IF EXISTS ix_events_memory"))
    conn.execute(text(_MEMORY_INDEX_WITH_MEDIA))


# Append only: a released migration is never edited, a change is a new entry.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "events, pending messages, access tokens, leases", _create_initial_tables),
    (2, "message index, delivery problems index", create_message_index),
    (3, "keys recorded before channels name app:default or aibot:default", prefix_legacy_keys),
    (4, "usage totals", create_usage_totals),
    (5, "retention progress", create_retention_progress),
    (6, "announcements index", create_announcements_index),
    (7, "media blobs, memory index with pictures and files", _add_media),
    (8, "usage totals index by member", index_usage_by_member),
]

_LEDGER = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, description VARCHAR(255) NOT NULL, applied_at FLOAT NOT NULL)"
)


# PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against a concurrent twin (the loser
# fails on the catalog's unique index or with DuplicateTable), so racing start-ups take this
# transaction-scoped advisory lock first; the key is arbitrary but fixed for this ledger.
_LEDGER_LOCK = "SELECT pg_advisory_xact_lock(7301002)"


async def migrate(engine: AsyncEngine) -> int:
    """Brings the schema to the newest version; returns how many migrations this call ran."""
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text(_LEDGER_LOCK))
        await conn.execute(text(_LEDGER))
    ran = 0
    for version, description, apply in MIGRATIONS:
        if await _apply_once(engine, version, description, apply):
            log.info("database schema migrated to version %d (%s)", version, description)
            ran += 1
    return ran


async def schema_version(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        found = await conn.execute(text("SELECT MAX(version) FROM schema_migrations"))
        return found.scalar() or 0


async def _apply_once(
    engine: AsyncEngine, version: int, description: str, apply: Callable[[Connection], None]
) -> bool:
    try:
        async with engine.begin() as conn:
            taken = await conn.execute(
                text("SELECT 1 FROM schema_migrations WHERE version = :v"), {"v": version}
            )
            if taken.first():
                return False
            await conn.execute(
                text(
                    "INSERT INTO schema_migrations (version, description, applied_at) "
                    "VALUES (:v, :d, :t)"
                ),
                {"v": version, "d": description, "t": time.time()},
            )
            await conn.run_sync(apply)
    except IntegrityError:
        return False  # another process applied it between our check and our insert
    return True
