"""Leases in the shared database. A lease's expiry is written and judged by the database's
clock, in the statement that takes the lease, so hosts whose clocks disagree still agree on
who holds what (with one host a minute ahead, judging by each host's clock made it take over
leases that were still held, and answer messages twice)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.persistence.sqlalchemy_database_clock import database_now
from adapters.outbound.persistence.sqlalchemy_schema import leases


class SqlAlchemyLeaseStore:
    def __init__(self, engine: AsyncEngine):
        self._engine = engine

    async def acquire(self, name: str, owner: str, seconds: float) -> bool:
        now = database_now()
        take = (
            update(leases)
            .where(
                leases.c.name == name,
                or_(leases.c.owner == owner, leases.c.expires_at <= now),
            )
            .values(owner=owner, expires_at=now + seconds)
        )
        try:
            async with self._engine.begin() as conn:
                if (await conn.execute(take)).rowcount:
                    return True
                await conn.execute(
                    insert(leases).values(name=name, owner=owner, expires_at=now + seconds)
                )
                return True
        except IntegrityError:
            return False  # the row exists and is someone else's, unexpired

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
            await conn.execute(
                delete(leases).where(leases.c.name == name, leases.c.owner == owner)
            )
