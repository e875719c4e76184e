"""The spool as a small SQLite file of its own, beside the service: written with the standard
library's sqlite3 (no engine, no pool), each message committed with synchronous=FULL, so it is
on disk before the callback's 200.

Like the database it holds members' text and response_urls: its folder is created 0700 and the
file 0600 (SECURITY.md).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import cast

from adapters.outbound.persistence.event_serialization import from_row, to_row
from adapters.outbound.persistence.sqlalchemy_engine import create_private
from application.ports.message_spool import SpoolRefused
from domain.events import MessageReceived

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS spooled ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " stream_id TEXT NOT NULL UNIQUE,"
    " row TEXT NOT NULL)"
)


class SqliteMessageSpool:
    def __init__(self, path: Path, max_messages: int):
        self._path = path
        self._max = max_messages
        self._lock = threading.Lock()  # one statement at a time on the one connection
        self._db: sqlite3.Connection | None = None
        self._count = 0

    @property
    def count(self) -> int:
        return self._count

    def open(self) -> None:
        """Creates the file if needed and counts what a previous run left to replay."""
        create_private(self._path)
        db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(_SCHEMA)
        self._count = db.execute("SELECT count(*) FROM spooled").fetchone()[0]
        self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    async def put(self, received: MessageReceived) -> bool:
        return await asyncio.to_thread(self._put, received)

    async def oldest(self, limit: int) -> list[tuple[int, MessageReceived]]:
        return await asyncio.to_thread(self._oldest, limit)

    async def remove(self, spool_id: int) -> None:
        await asyncio.to_thread(self._remove, spool_id)

    def _put(self, received: MessageReceived) -> bool:
        with self._lock:
            if self._count >= self._max:
                raise SpoolRefused(f"the spool holds {self._count} messages, its limit")
            try:
                cursor = self._connection().execute(
                    "INSERT OR IGNORE INTO spooled (stream_id, row) VALUES (?, ?)",
                    (received.stream_id, json.dumps(to_row(received), ensure_ascii=False)),
                )
            except sqlite3.Error as err:
                # The message is not named: the error is all the caller needs.
                raise SpoolRefused(f"the spool could not write: {err}") from None
            self._count += cursor.rowcount
            return cursor.rowcount == 1

    def _oldest(self, limit: int) -> list[tuple[int, MessageReceived]]:
        with self._lock:
            rows = (
                self._connection()
                .execute("SELECT id, row FROM spooled ORDER BY id LIMIT ?", (limit,))
                .fetchall()
            )
        return [(spool_id, _received(row)) for spool_id, row in rows]

    def _remove(self, spool_id: int) -> None:
        with self._lock:
            cursor = self._connection().execute("DELETE FROM spooled WHERE id = ?", (spool_id,))
            self._count -= cursor.rowcount

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise SpoolRefused("the spool is not open")
        return self._db


def _received(row: str) -> MessageReceived:
    # Only MessageReceived events are ever put.
    return cast(MessageReceived, from_row(SimpleNamespace(**json.loads(row))))
