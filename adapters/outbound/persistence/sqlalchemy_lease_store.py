"""Leases in the shared database. A lease's expiry is written and judged by the database's
clock, in the statement that takes the lease, so hosts whose clocks disagree still agree on
who holds what (with one host a minute ahead, judging by each host's clock made it take over
leases that were still held, and answer messages twice)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Insert, bindparam, delete, or_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.persistence.sqlalchemy_database_clock import database_now
from adapters.outbound.persistence.sqlalchemy_schema import leases, upsert_into


class SqlAlchemyLeaseStore:
    def __init__(self, engine: AsyncEngine):
        self._engine = engine
        self._take = _take(engine.dialect.name)

    async def acquire(self, name: str, owner: str, seconds: float) -> bool:
        values = {"name": name, "owner": owner, "seconds": seconds}
        async with self._engine.begin() as conn:
            return (await conn.execute(self._take, values)).first() is not None

    async def renew(self, names: Collection[str], owner: str, seconds: float) -> int:
        if not names:
            return 0
        extend = (
            update(leases)
            .where(leases.c.name.in_(list(names)), leases.c.owner == owner)
            .values(expires_at=database_now() + seconds)
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(extend)).rowcount

    async def release(self, name: str, owner: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_RELEASE, {"name": name, "owner": owner})


def _take(dialect_name: str) -> Insert:
    """One statement: a new lease is inserted, ours or an expired one is taken over, one
    someone else holds is left alone (a burst of new conversations takes a lease each, and an
    UPDATE then an INSERT cost each of them a second statement). Built once per store, with
    bound values: building it for every lease was a visible share of each answer's CPU."""
    owner = bindparam("owner")
    fresh = upsert_into(leases, dialect_name).values(
        name=bindparam("name"), owner=owner, expires_at=database_now() + bindparam("seconds")
    )
    return fresh.on_conflict_do_update(
        index_elements=[leases.c.name],
        set_={"owner": fresh.excluded.owner, "expires_at": fresh.excluded.expires_at},
        where=or_(leases.c.owner == owner, leases.c.expires_at <= database_now()),
    ).returning(leases.c.name)  # a row only when taken: rowcount is -1 through psycopg


_RELEASE = delete(leases).where(
    leases.c.name == bindparam("name"), leases.c.owner == bindparam("owner")
)
