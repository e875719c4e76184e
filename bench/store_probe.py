"""Looking into a service's SQLite file from outside, as an operator would with sqlite3."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path


def _count(db: Path, sql: str) -> int:
    with closing(sqlite3.connect(db, timeout=10)) as conn:
        return conn.execute(sql).fetchone()[0]


def received(db: Path) -> int:
    """MessageReceived events durably in the file: one per acknowledged callback, or a
    callback was acknowledged without being recorded."""
    return _count(db, "SELECT count(*) FROM events WHERE event_type = 'MessageReceived'")


def pending(db: Path) -> int:
    return _count(db, "SELECT count(*) FROM pending_messages")


def wait_drained(db: Path, timeout: float) -> float:
    """Waits until every received message is settled; returns how long that took."""
    start = time.monotonic()
    while pending(db):
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{pending(db)} messages still unsettled after {timeout:.0f}s")
        time.sleep(0.1)
    return time.monotonic() - start
