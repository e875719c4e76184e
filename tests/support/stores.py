"""Event stores for the contract suites that run against SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import create_engine, text

from adapters.outbound.persistence.sqlalchemy_engine import build_engine
from adapters.outbound.persistence.sqlalchemy_event_store import SqlAlchemyEventStore
from adapters.outbound.persistence.sqlalchemy_migrations import migrate
from adapters.outbound.persistence.sqlalchemy_schema import metadata

ALL_TABLES = (*metadata.tables, "schema_migrations")


async def emptied(url: str) -> str:
    """`url`'s database without any of the service's tables (PostgreSQL is shared)."""
    engine = build_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE IF EXISTS {', '.join(ALL_TABLES)}"))
    await engine.dispose()
    return url


async def migrated_store(url: str) -> AsyncIterator[SqlAlchemyEventStore]:
    engine = build_engine(url)
    await migrate(engine)
    store = SqlAlchemyEventStore(engine)
    yield store
    await store.aclose()
    await engine.dispose()


def emptied_now(url: str) -> str:
    """As `emptied`, for synchronous tests (the end-to-end ones)."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {', '.join(ALL_TABLES)}"))
    engine.dispose()
    return url


async def fill_sqlite(store: SqlAlchemyEventStore, full: bool) -> None:
    """Makes the store's SQLite file full (its writer connection's max_page_count lowered to
    the file's size), or lifts that limit again: a full disk, simulated by the store."""

    def limit(conn, _) -> None:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
        conn.exec_driver_sql(f"PRAGMA max_page_count = {pages if full else 1_073_741_823}")

    # The writer's own connection (group commit's thread), not one of the engine's.
    await store._transactions.run(limit, None)
