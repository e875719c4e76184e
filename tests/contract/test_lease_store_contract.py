"""One contract for every lease store: in memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from adapters.outbound.persistence.sqlalchemy_engine import build_engine
from adapters.outbound.persistence.sqlalchemy_lease_store import SqlAlchemyLeaseStore
from adapters.outbound.persistence.sqlalchemy_migrations import migrate
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.support.postgres import postgres_url


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class LeaseStoreContract:
    @pytest.fixture
    def clock(self):
        return Clock()

    async def test_one_owner_at_a_time(self, leases):
        assert await leases.acquire("conversation:a", "alpha", 30)
        assert not await leases.acquire("conversation:a", "beta", 30)
        assert await leases.acquire("conversation:b", "beta", 30)

    async def test_the_owner_extends_its_own_lease(self, leases, clock):
        assert await leases.acquire("x", "alpha", 30)
        clock.now += 20
        assert await leases.acquire("x", "alpha", 30)
        clock.now += 20  # 40 s after the first take, 20 s after the renewal
        assert not await leases.acquire("x", "beta", 30)

    async def test_an_expired_lease_can_be_taken_over(self, leases, clock):
        assert await leases.acquire("x", "alpha", 30)
        clock.now += 31
        assert await leases.acquire("x", "beta", 30)
        assert not await leases.acquire("x", "alpha", 30)

    async def test_release_lets_others_in_but_only_the_owner_releases(self, leases):
        assert await leases.acquire("x", "alpha", 30)
        await leases.release("x", "beta")
        assert not await leases.acquire("x", "beta", 30)
        await leases.release("x", "alpha")
        assert await leases.acquire("x", "beta", 30)

    async def test_racing_owners_get_exactly_one_lease(self, leases):
        won = await asyncio.gather(*(leases.acquire("race", f"o{i}", 30) for i in range(8)))
        assert won.count(True) == 1


class TestInMemoryLeaseStore(LeaseStoreContract):
    @pytest.fixture
    def leases(self, clock):
        return InMemoryLeaseStore(clock)


class SqlLeaseStoreContract(LeaseStoreContract):
    @pytest.fixture
    async def leases(self, url, clock):
        engine = build_engine(url)
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DELETE FROM leases")
        yield SqlAlchemyLeaseStore(engine, clock)
        await engine.dispose()


class TestSqliteLeaseStore(SqlLeaseStoreContract):
    @pytest.fixture
    def url(self, tmp_path):
        return f"sqlite:///{tmp_path}/leases.db"


class TestPostgresLeaseStore(SqlLeaseStoreContract):
    @pytest.fixture
    def url(self):
        return postgres_url()
