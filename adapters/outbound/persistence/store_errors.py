"""Which database errors mean "the store is unavailable for now", and how they are told.

A database that is stopped or restarting, a disk that is full, a file that is read-only: the
same write may succeed later, and the caller has somewhere else to put it (the spool). Any
other error (a constraint the caller handles, a bug) stays what it is.

What is told is the failure's kind and the driver's first line, never the statement's
parameters: SQLAlchemy puts them into str() (the engine is built with hide_parameters too),
and they hold members' text and response_urls.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from application.ports.event_store import StoreUnavailable

# SQLite's primary result codes that pass: busy or locked past the busy timeout, read-only,
# an I/O error, the disk (or max_page_count) full, the file not openable.
_SQLITE_PASSING = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN,
}
# PostgreSQL's SQLSTATE classes that pass: connection exception, insufficient resources
# (disk full, out of memory, too many connections), operator intervention (shutdown, starting
# up), system error; and a hot standby's read-only transaction.
_POSTGRES_PASSING_CLASSES = {"08", "53", "57", "58"}
_POSTGRES_READ_ONLY = "25006"


def is_unavailable(err: BaseException) -> bool:
    if isinstance(err, (PoolTimeout, DisconnectionError)):
        return True
    if isinstance(err, sqlite3.Error):  # raised by a driver used without SQLAlchemy around it
        return (getattr(err, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_PASSING
    if not isinstance(err, DBAPIError):
        return False
    if err.connection_invalidated:
        return True
    cause = err.orig
    if isinstance(cause, sqlite3.Error):
        return (getattr(cause, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_PASSING
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate:
        return sqlstate[:2] in _POSTGRES_PASSING_CLASSES or sqlstate == _POSTGRES_READ_ONLY
    # psycopg's own connection failures (refused, closed, lost) carry no SQLSTATE.
    return isinstance(err, (OperationalError, InterfaceError))


def described(err: BaseException) -> str:
    """The error's class and the driver's first line: no statement, no parameters."""
    cause = getattr(err, "orig", None) or err
    first_line = (str(cause).strip().splitlines() or [""])[0][:200]
    return f"{type(cause).__name__}: {first_line}" if first_line else type(cause).__name__


def outage_described(err: BaseException) -> str | None:
    """For the log: how a store outage met anywhere (raw from an adapter, or as the port's
    StoreUnavailable) is told in one line; None for any other error."""
    if isinstance(err, StoreUnavailable):
        return f"store unavailable: {err}"
    if is_unavailable(err):
        return f"store unavailable: {described(err)}"
    return None


P = ParamSpec("P")
R = TypeVar("R")


def unavailable_as_port_error(
    doing: str,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Turns the passing database errors of the decorated store method into StoreUnavailable
    (`doing` names the kind of statement: "append", "read")."""

    def decorate(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @wraps(method)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await method(*args, **kwargs)
            except Exception as err:
                if not is_unavailable(err):
                    raise
                # From None: the chained SQLAlchemy error would print its statement.
                raise StoreUnavailable(f"{doing} failed: {described(err)}") from None

        return guarded

    return decorate
