"""The database's clock as epoch seconds, for what several hosts compare: each host's own
clock may be off by a minute or more, the database's is one clock for all of them.

`database_now()` is a SQL expression, evaluated by the database in the statement that uses it.
PostgreSQL's now() is the transaction's start, so every use within one transaction agrees.
SQLite's 'now' is fixed for one statement; unixepoch('subsec') would say it more plainly but
needs SQLite 3.42, and the julianday form works on every version Python ships with.
"""

from __future__ import annotations

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


# Lower case, as SQLAlchemy names its SQL functions (func.now is the class `now`).
class database_now(FunctionElement):
    type = Float()
    inherit_cache = True


@compiles(database_now, "postgresql")
def _postgresql_now(_element, _compiler, **_kw) -> str:
    return "CAST(EXTRACT(EPOCH FROM now()) AS DOUBLE PRECISION)"


@compiles(database_now, "sqlite")
def _sqlite_now(_element, _compiler, **_kw) -> str:
    # 2440587.5 is the Julian day of 1970-01-01 00:00 UTC.
    return "((julianday('now') - 2440587.5) * 86400.0)"
