"""What a database plans for the statements the stores send it: whether a read searches an
index or walks a whole table. On SQLite from EXPLAIN QUERY PLAN; on PostgreSQL from EXPLAIN
with sequential scans forbidden, since on a test's small tables a scan is cheapest and would
hide whether an index could serve the read at all (if none can, the plan still scans)."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import Engine, event


@contextmanager
def executed_statements():
    """The (statement, parameters) every engine in this process sends to its database."""
    statements = []

    def executed(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", executed)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", executed)


async def query_plan(conn, statement: str, parameters) -> list[str]:
    """The plan's steps, one line each."""
    if conn.dialect.name == "sqlite":
        rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return [row[-1] for row in rows]
    await conn.exec_driver_sql("SET enable_seqscan = off")
    rows = await conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
    return [row[0].strip() for row in rows]


def scans_a_table(plan: list[str]) -> bool:
    """SQLite: "SCAN events" reads the table's rows in turn; "SEARCH events USING INDEX …"
    reads those it needs, and "SCAN events USING INDEX …" walks an index (a partial one holds
    only the rows it is for). PostgreSQL: "Seq Scan" reads the table's rows in turn."""
    return any(
        (step.startswith("SCAN ") and "USING" not in step) or "Seq Scan" in step
        for step in plan
    )
