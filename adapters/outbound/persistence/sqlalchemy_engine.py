"""Building the async engine from the configured URL, tuned for each database."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_fixed

# Plain URLs name the async drivers we ship, so operators can write what they know.
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}


def async_url(url: str) -> str:
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None and parsed.drivername not in _ASYNC_DRIVERS.values():
        raise ValueError(
            f"storage.url: unsupported database '{parsed.drivername}' "
            "(use sqlite:///path or postgresql://user@host/db)"
        )
    return parsed.set(drivername=driver or parsed.drivername).render_as_string(
        hide_password=False
    )


def build_engine(url: str) -> AsyncEngine:
    url = async_url(url)
    parsed = make_url(url)
    # A failed statement's str() would carry its parameters (members' text, response_urls)
    # into whatever logs it: never (SECURITY.md).
    if parsed.get_backend_name() != "sqlite":
        # A database that is down or restarting must fail a callback's write within WeCom's
        # 5 s, so the message goes to the spool in time (unless the URL sets its own).
        connect = {} if "connect_timeout" in parsed.query else {"connect_timeout": 3}
        return create_async_engine(
            url, pool_pre_ping=True, hide_parameters=True, connect_args=connect
        )
    if parsed.database and parsed.database != ":memory:":
        create_private(Path(parsed.database))
        # One connection per process besides the event store's writer thread (see
        # build_sqlite_writer). SQLite lets one connection write at a time, and a second
        # connection of the same process that wants to write waits in SQLite's busy
        # handler, which sleeps 1, 2, 5, 10… ms between tries however soon the lock is free:
        # under load that was most of an ack's time (BENCHMARKS.md, "Profiles"). Queued on
        # the pool instead, a waiter starts the moment the connection is back. Nothing here
        # holds a connection while it asks for another, so one cannot deadlock.
        engine = create_async_engine(url, pool_size=1, max_overflow=0, hide_parameters=True)
    else:
        engine = create_async_engine(url, hide_parameters=True)
    event.listen(engine.sync_engine, "connect", _tune_sqlite)
    return engine


def build_sqlite_reader(url: URL) -> Engine:
    """A synchronous engine on the same SQLite file, for the event store's reader thread: one
    connection beside the writer's (WAL lets it read while the writer commits), tuned as the
    async engine's."""
    engine = create_engine(
        url.set(drivername="sqlite"), pool_size=1, max_overflow=0, hide_parameters=True
    )
    event.listen(engine, "connect", _tune_sqlite)
    return engine


def build_sqlite_writer(url: URL) -> Engine:
    """A synchronous engine on the same SQLite file, for the event store's writer thread: one
    connection, tuned as the async engine's, whose transactions take the write lock when they
    begin (BEGIN IMMEDIATE), so what a transaction reads before writing cannot change under
    it."""
    engine = create_engine(
        url.set(drivername="sqlite"), pool_size=1, max_overflow=0, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def connect(dbapi_connection, record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's BEGIN below, not the module's
        _tune_sqlite(dbapi_connection, record)
        # Its caller polls for the lock instead (transaction_runners.SqliteWriterThread).
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    @event.listens_for(engine, "begin")
    def begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_private(database: Path) -> None:
    """A SQLite file of ours (the database, the spool) holds members' messages and
    response_urls, the database the live access token too: its folder is created readable by
    this user only, and so is the file, before SQLite creates
    it with the umask's 0644. SQLite gives the -wal and -shm files the database file's mode.
    An existing folder or file is left as it is (start-up warns when others can read it)."""
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; synchronous=FULL makes a commit durable before
    # the callback is acknowledged; busy_timeout makes a second process wait, not fail.
    cursor.execute("PRAGMA busy_timeout=5000")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _is_locked(error: BaseException) -> bool:
    return isinstance(error, sqlite3.OperationalError) and "locked" in str(error)


def _switch_to_wal(cursor) -> None:
    # Switching a new file to WAL needs a lock that SQLite does not wait for even with a busy
    # timeout, so processes that start together on a new file take turns here.
    for attempt in Retrying(
        stop=stop_after_attempt(100),
        wait=wait_fixed(0.05),
        retry=retry_if_exception(_is_locked),
        reraise=True,
    ):
        with attempt:
            cursor.execute("PRAGMA journal_mode=WAL")
