"""Looking into a service's database from outside, as an operator would: a SQLite file (a
Path) or a PostgreSQL database (its URL)."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import NullPool, create_engine, text


def database_url(db: Path | str) -> str:
    return f"sqlite:///{db}" if isinstance(db, Path) else db


def _count(db: Path | str, sql: str) -> int:
    url = database_url(db).replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def received(db: Path | str) -> int:
    """MessageReceived events durably in the database: one per acknowledged callback, or a
    callback was acknowledged without being recorded."""
    return _count(db, "SELECT count(*) FROM events WHERE event_type = 'MessageReceived'")


def pending(db: Path | str) -> int:
    return _count(db, "SELECT count(*) FROM pending_messages")


def wait_drained(db: Path | str, timeout: float) -> float:
    """Waits until every received message is settled; returns how long that took."""
    start = time.monotonic()
    while pending(db):
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{pending(db)} messages still unsettled after {timeout:.0f}s")
        time.sleep(0.1)
    return time.monotonic() - start
