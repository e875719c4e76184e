"""Leases in the shared database. Expiry is judged by each process's clock, so hosts that
share a database should keep their clocks synchronised (NTP) to well under a lease's length."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import delete, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.persistence.sqlalchemy_schema import leases


class SqlAlchemyLeaseStore:
    def __init__(self, engine: AsyncEngine, clock: Callable[[], float] = time.time):
        self._engine = engine
        self._clock = clock

    async def acquire(self, name: str, owner: str, seconds: float) -> bool:
        now = self._clock()
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

    async def release(self, name: str, owner: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(leases).where(leases.c.name == name, leases.c.owner == owner)
            )
