"""One contract for every lease store: in memory, SQLite and PostgreSQL.

Time passes for real on the SQL stores (their leases run on the database's clock), and on a
fake clock for the in-memory one; `wait` lets it pass either way.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from adapters.outbound.persistence.sqlalchemy_database_clock import database_now
from adapters.outbound.persistence.sqlalchemy_engine import build_engine
from adapters.outbound.persistence.sqlalchemy_lease_store import SqlAlchemyLeaseStore
from adapters.outbound.persistence.sqlalchemy_migrations import migrate
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.support.postgres import postgres_url

# Long enough that a loaded machine does not make a held lease run out between two steps.
LEASE = 2.0


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class LeaseStoreContract:
    async def test_one_owner_at_a_time(self, leases):
        assert await leases.acquire("conversation:a", "alpha", 30)
        assert not await leases.acquire("conversation:a", "beta", 30)
        assert await leases.acquire("conversation:b", "beta", 30)

    async def test_the_owner_extends_its_own_lease(self, leases, wait):
        assert await leases.acquire("x", "alpha", LEASE)
        await wait(LEASE * 0.6)
        assert await leases.acquire("x", "alpha", LEASE)
        await wait(LEASE * 0.6)  # past the first lease's end, within the renewal's
        assert not await leases.acquire("x", "beta", LEASE)

    async def test_an_expired_lease_can_be_taken_over(self, leases, wait):
        assert await leases.acquire("x", "alpha", 0.5)
        await wait(0.7)
        assert await leases.acquire("x", "beta", 30)
        assert not await leases.acquire("x", "alpha", 30)

    async def test_release_lets_others_in_but_only_the_owner_releases(self, leases):
        assert await leases.acquire("x", "alpha", 30)
        await leases.release("x", "beta")
        assert not await leases.acquire("x", "beta", 30)
        await leases.release("x", "alpha")
        assert await leases.acquire("x", "beta", 30)

    async def test_renew_extends_only_the_owners_leases_in_one_go(self, leases, wait):
        for name in ("a", "b", "c"):
            assert await leases.acquire(name, "alpha", LEASE)
        assert await leases.acquire("d", "beta", LEASE)
        await wait(LEASE * 0.6)

        renewed = await leases.renew(["a", "b", "d", "gone"], "alpha", LEASE)

        assert renewed == 2
        await wait(LEASE * 0.6)  # past the takes' end, within the renewal's
        assert not await leases.acquire("a", "beta", LEASE)
        assert not await leases.acquire("b", "beta", LEASE)
        assert await leases.acquire("c", "beta", LEASE)  # not renewed: expired
        assert await leases.renew([], "alpha", LEASE) == 0

    async def test_racing_owners_get_exactly_one_lease(self, leases):
        won = await asyncio.gather(*(leases.acquire("race", f"o{i}", 30) for i in range(8)))
        assert won.count(True) == 1


class TestInMemoryLeaseStore(LeaseStoreContract):
    @pytest.fixture
    def clock(self):
        return Clock()

    @pytest.fixture
    def leases(self, clock):
        return InMemoryLeaseStore(clock)

    @pytest.fixture
    def wait(self, clock):
        async def advance(seconds: float) -> None:
            clock.now += seconds

        return advance


class SqlLeaseStoreContract(LeaseStoreContract):
    @pytest.fixture
    async def engine(self, url):
        engine = build_engine(url)
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DELETE FROM leases")
        yield engine
        await engine.dispose()

    @pytest.fixture
    def leases(self, engine):
        return SqlAlchemyLeaseStore(engine)

    @pytest.fixture
    def wait(self):
        return asyncio.sleep

    async def test_the_database_clock_is_epoch_seconds(self, engine):
        async with engine.connect() as conn:
            now = (await conn.execute(select(database_now()))).scalar_one()
        assert abs(now - time.time()) < 5  # the database runs on this machine

    async def test_hosts_whose_clocks_disagree_still_agree_on_the_holder(
        self, engine, monkeypatch
    ):
        """One process's lease is not taken over by another whose clock is an hour ahead,
        nor kept by one whose clock is an hour behind."""
        here, there = SqlAlchemyLeaseStore(engine), SqlAlchemyLeaseStore(engine)
        assert await here.acquire("x", "alpha", LEASE)
        monkeypatch.setattr(time, "time", lambda: 1_000_000_000.0 + 3600)
        assert not await there.acquire("x", "beta", LEASE)
        monkeypatch.setattr(time, "time", lambda: 1_000_000_000.0 - 3600)
        assert await here.acquire("y", "alpha", 0.5)
        await asyncio.sleep(0.7)
        assert await there.acquire("y", "beta", LEASE)


class TestSqliteLeaseStore(SqlLeaseStoreContract):
    @pytest.fixture
    def url(self, tmp_path):
        return f"sqlite:///{tmp_path}/leases.db"


class TestPostgresLeaseStore(SqlLeaseStoreContract):
    @pytest.fixture
    def url(self):
        return postgres_url()
