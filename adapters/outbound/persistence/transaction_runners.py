"""Where the event store's write transactions and frequent reads run: a synchronous function
given a Connection, run whole (a write in one transaction)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

from adapters.outbound.persistence.sqlalchemy_engine import (
    build_sqlite_reader,
    build_sqlite_writer,
)

LOCKED_RETRY_SECONDS = 0.0005
LOCKED_GIVE_UP_SECONDS = 5.0  # as long as the other connections' busy_timeout

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


class EngineReads(EngineTransactions):
    """Reads on the async engine's connections, outside any transaction of ours."""

    async def run(self, work: Callable[[Connection, Arg], Result], arg: Arg) -> Result:
        async with self._engine.connect() as conn:
            return await conn.run_sync(work, arg)


class _SqliteThread:
    """A synchronous engine on the async engine's SQLite file, used on one thread of its own:
    a whole read or transaction is one hand-off between the event loop and the thread, where
    aiosqlite makes about three per statement (BENCHMARKS.md, "Profiles")."""

    def __init__(self, engine: Engine, name: str):
        self._engine = engine
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def aclose(self) -> None:
        # The connection is closed on the thread that opened it.
        await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown()


class SqliteReaderThread(_SqliteThread):
    """The store's frequent reads (a message's events, a conversation's pending messages and
    memory) on a connection of their own: they no longer queue for the one connection the
    process's writers take turns on, and an acknowledgement waits only behind writes."""

    def __init__(self, engine: AsyncEngine):
        super().__init__(build_sqlite_reader(engine.url), "sqlite-reader")

    async def run(self, work: Callable[[Connection, Arg], Result], arg: Arg) -> Result:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._read, work, arg)

    def _read(self, work: Callable[[Connection, Arg], Result], arg: Arg) -> Result:
        with self._engine.connect() as conn:
            return work(conn, arg)


class SqliteWriterThread(_SqliteThread):
    """Write transactions, each taking SQLite's write lock from its start."""

    def __init__(self, engine: AsyncEngine):
        super().__init__(build_sqlite_writer(engine.url), "sqlite-writer")
        self._turns = engine

    async def run(self, work: Callable[[Connection, Arg], Result], arg: Arg) -> Result:
        loop = asyncio.get_running_loop()
        # Holding the async engine's one pooled connection while writing makes this writer
        # take its turn in order with the process's other writers (leases, the token cache):
        # none of them waits in SQLite's busy handler, and a busy writer thread, which would
        # take the lock again a moment after each commit, cannot starve them.
        async with self._turns.connect():
            return await loop.run_in_executor(self._thread, self._in_transaction, work, arg)

    def _in_transaction(self, work: Callable[[Connection, Arg], Result], arg: Arg) -> Result:
        # The writer's connection does not wait in SQLite's busy handler, which sleeps 1, 2,
        # 5, 10… ms however soon the lock is free: while another connection (a lease, another
        # process) holds the write lock, BEGIN IMMEDIATE fails at once and is tried again
        # every half millisecond. Nothing of a transaction that failed so was committed.
        for attempt in Retrying(
            retry=retry_if_exception(_is_locked),
            wait=wait_fixed(LOCKED_RETRY_SECONDS),
            stop=stop_after_delay(LOCKED_GIVE_UP_SECONDS),
            reraise=True,
        ):
            with attempt, self._engine.begin() as conn:
                return work(conn, arg)
        raise AssertionError("unreachable: Retrying returns or raises")


def transactions_for(engine: AsyncEngine) -> EngineTransactions | SqliteWriterThread:
    """Where writes on `engine` run: a writer thread of their own on a SQLite file."""
    return SqliteWriterThread(engine) if _on_sqlite_file(engine) else EngineTransactions(engine)


def reads_for(engine: AsyncEngine) -> EngineReads | SqliteReaderThread:
    """Where frequent reads on `engine` run: a reader thread of their own on a SQLite file."""
    return SqliteReaderThread(engine) if _on_sqlite_file(engine) else EngineReads(engine)


def _on_sqlite_file(engine: AsyncEngine) -> bool:
    # In-memory SQLite is seen only by the async engine's own connection.
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


def _is_locked(error: BaseException) -> bool:
    return isinstance(error, OperationalError) and "locked" in str(error.orig)
