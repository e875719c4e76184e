"""Where the event store's write transactions run: a synchronous function given a Connection,
run whole in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.persistence.sqlalchemy_engine import build_sqlite_writer

Arg = TypeVar("Arg")
Result = TypeVar("Result")


class EngineTransactions:
    """On the async engine's connections (PostgreSQL through psycopg; SQLite in memory, which
    only that engine's connection can see): each statement is awaited in turn."""

    def __init__(self, engine: AsyncEngine):
        self._engine = engine

    async def run(self, work: Callable[[Connection, Arg], Result], arg: Arg) -> Result:
        async with self._engine.begin() as conn:
            return await conn.run_sync(work, arg)

    async def aclose(self) -> None:
        """The engine is its owner's to dispose of."""


class SqliteWriterThread:
    """On one thread of its own with a plain sqlite3 connection: a whole transaction is one
    hand-off between the event loop and the thread, where aiosqlite makes about three per
    statement (BENCHMARKS.md, "Profiles"). Reads stay on the async engine: WAL lets them run
    beside this writer."""

    def __init__(self, engine: AsyncEngine):
        self._engine = build_sqlite_writer(engine.url)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

    async def run(self, work: Callable[[Connection, Arg], Result], arg: Arg) -> Result:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._in_transaction, work, arg)

    def _in_transaction(self, work: Callable[[Connection, Arg], Result], arg: Arg) -> Result:
        with self._engine.begin() as conn:
            return work(conn, arg)

    async def aclose(self) -> None:
        # The connection is closed on the thread that opened it.
        await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown()
