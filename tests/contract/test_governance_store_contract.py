"""What the governance features need of every event store (the in-memory fake, SQLite and
PostgreSQL): usage totals kept as ModelUsed events are appended; content removed in place,
oldest first in bounded batches or by stream, leaving facts and totals."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from sqlalchemy import text

from adapters.outbound.persistence.sqlalchemy_blob_store import SqlAlchemyBlobStore
from domain.events import AnnouncementRequested, PictureSeen
from domain.usage import Usage
from tests.fakes.event_store import InMemoryEventStore
from tests.support.events import answered, received, text_message, used
from tests.support.postgres import postgres_url
from tests.support.query_plans import executed_statements, query_plan
from tests.support.stores import emptied, migrated_store

DAY_1, DAY_2 = 1_767_225_600.0, 1_767_312_000.0  # 2026-01-01 and 2026-01-02, 00:00 UTC
HR = "app:hr"


class GovernanceStoreContract:
    @pytest.fixture
    async def store(self):
        raise NotImplementedError

    async def spend(self, store, msg_id, user, usage, *, department=None, at=DAY_1, channel=HR):
        message = replace(text_message("问题", msg_id, user), channel=channel)
        cost = used(message, usage, department=department)
        events = [received(message), cost, answered(message, "回答", version=3)]
        await store.append([replace(event, occurred_at=at) for event in events])

    async def test_usage_is_totalled_by_member_department_channel_and_day(self, store):
        await self.spend(store, "1", "alice", Usage(100, 20), department=2)
        await self.spend(store, "2", "alice", Usage(50, 10, estimated=True), department=2)
        await self.spend(store, "3", "bob", Usage(pictures=1), department=3, at=DAY_2)
        await self.spend(store, "4", "carol", Usage(audio_seconds=2.5), channel="aibot:team")

        by_member = await store.usage_totals("member", "2026-01-01", "2026-01-02")
        assert [
            (r.key, r.channel, r.calls, r.estimated_calls, r.tokens_in, r.tokens_out)
            for r in by_member
        ] == [
            ("alice", HR, 2, 1, 150, 30),
            ("bob", HR, 1, 0, 0, 0),
            ("carol", "aibot:team", 1, 0, 0, 0),
        ]
        assert [r.pictures for r in by_member] == [0, 1, 0]
        assert [r.audio_seconds for r in by_member] == [0.0, 0.0, 2.5]
        by_department = await store.usage_totals("department", "2026-01-01", "2026-01-02")
        assert [(r.key, r.calls) for r in by_department] == [("", 1), ("2", 2), ("3", 1)]
        by_day = await store.usage_totals("day", "2026-01-01", "2026-01-02")
        assert [(r.key, r.channel, r.calls) for r in by_day] == [
            ("2026-01-01", "aibot:team", 1), ("2026-01-01", HR, 2), ("2026-01-02", HR, 1),
        ]
        by_channel = await store.usage_totals("channel", "2026-01-02", "2026-01-02")
        assert [(r.key, r.calls) for r in by_channel] == [(HR, 1)]

    async def test_costs_of_one_member_recorded_together_add_up(self, store):
        # Made together, they reach the writer as one batch: one upsert for many rows that
        # share a key.
        await asyncio.gather(
            *(self.spend(store, str(i), "alice", Usage(10, 1), department=2) for i in range(12))
        )
        [total] = await store.usage_totals("member", "2026-01-01", "2026-01-01")
        assert (total.key, total.calls, total.tokens_in, total.tokens_out) == ("alice", 12, 120, 12)

    async def test_a_cost_reads_back_as_recorded(self, store):
        message = text_message("问题", "1")
        cost = used(message, Usage(3, 4, estimated=True, pictures=1, audio_seconds=1.5))
        await store.append([received(message), cost])
        assert (await store.read_stream(message.dedup_key))[1] == cost

    async def test_quota_reads_count_tokens_of_a_member_or_department_over_days(self, store):
        await self.spend(store, "1", "alice", Usage(100, 20), department=2)
        await self.spend(store, "2", "bob", Usage(7, 3), department=2, at=DAY_2)
        await self.spend(store, "3", "bob", Usage(1000, 1000), department=2, channel="app:it")

        assert await store.tokens_used(HR, "2026-01-01", "2026-01-01", member="alice") == 120
        assert await store.tokens_used(HR, "2026-01-02", "2026-01-02", member="alice") == 0
        assert await store.tokens_used(HR, "2026-01-01", "2026-01-31", department=2) == 130
        assert await store.tokens_used(HR, "2026-01-01", "2026-01-31", department=3) == 0

    async def test_retention_removes_aged_content_in_batches_and_keeps_facts_and_totals(
        self, store
    ):
        for number in range(5):
            at = DAY_1 + number * 3600
            await self.spend(store, str(number), "alice", Usage(10, 5), department=2, at=at)
        # Each message is three events; those of the first four messages are aged.
        cutoff = DAY_1 + 3 * 3600 + 1

        assert await store.remove_content_before(cutoff, batch=5) == 5
        assert await store.remove_content_before(cutoff, batch=5) == 5
        assert await store.remove_content_before(cutoff, batch=5) == 2
        assert await store.remove_content_before(cutoff, batch=5) == 0

        first = await store.read_stream(f"{HR}/msg:0")
        assert [type(e).__name__ for e in first] == [
            "MessageReceived", "ModelUsed", "AnswerComposed"
        ]
        assert (first[0].message.content, first[2].answer, first[2].parts) == ("", "", ("",))
        assert first[1].usage == Usage(10, 5)
        newest = await store.read_stream(f"{HR}/msg:4")
        assert (newest[0].message.content, newest[2].answer) == ("问题", "回答")
        [total] = await store.usage_totals("member", "2026-01-01", "2026-01-01")
        assert (total.calls, total.tokens_in, total.tokens_out) == (5, 50, 25)

    async def test_the_next_run_goes_on_from_where_the_last_one_stopped(self, store):
        await self.spend(store, "1", "alice", Usage(1, 1), at=DAY_1)
        assert await store.remove_content_before(DAY_1 + 1, batch=100) == 3
        await self.spend(store, "2", "alice", Usage(1, 1), at=DAY_1 + 10)
        assert await store.remove_content_before(DAY_1 + 100, batch=100) == 3

    async def test_content_of_chosen_streams_is_removed_at_any_age(self, store):
        await self.spend(store, "1", "alice", Usage(1, 1), at=DAY_2)
        await self.spend(store, "2", "bob", Usage(1, 1), at=DAY_2)
        alice = f"{HR}/msg:1"
        assert await store.remove_content_of([alice]) == 2
        assert await store.remove_content_of([alice]) == 0
        assert (await store.read_stream(alice))[0].message.content == ""
        bob = f"{HR}/msg:2"
        assert (await store.read_stream(bob))[0].message.content == "问题"

    async def test_an_export_reads_a_period_page_by_page_in_log_order(self, store):
        for day in range(4):
            await self.spend(store, str(day), "alice", Usage(1, 1), at=DAY_1 + day * 86400)
        since, until = DAY_1 + 86400, DAY_1 + 3 * 86400  # the second and third day
        first = await store.events_between(since, until, 0, 4)
        rest = await store.events_between(since, until, first[-1].position, 4)
        assert [len(first), len(rest)] == [4, 2]
        assert await store.events_between(since, until, rest[-1].position, 4) == []
        found = first + rest
        assert [p.position for p in found] == sorted(p.position for p in found)
        assert {p.stream_id for p in found} == {f"{HR}/msg:1", f"{HR}/msg:2"}
        cost = found[1]
        assert (cost.event_type, cost.version, cost.schema_version) == ("ModelUsed", 2, 1)
        assert cost.occurred_at == DAY_1 + 86400
        assert json.loads(cost.data)["usage"] == {
            "tokens_in": 1, "tokens_out": 1, "estimated": False, "pictures": 0,
            "audio_seconds": 0.0,
        }

    async def test_announcements_are_listed_newest_first_with_their_recipients(self, store):
        for key in ("digest-1", "digest-2", "digest-3"):
            await store.append([announcement(key)])
        await self.spend(store, "1", "alice", Usage(1, 1))
        newest = await store.announcements(2)
        assert [e.stream_id for e in newest] == ["announce:digest-3", "announce:digest-2"]
        assert newest[0] == announcement("digest-3")


def announcement(key: str) -> AnnouncementRequested:
    return AnnouncementRequested(
        stream_id=f"announce:{key}", version=1, conversation_id="admin/announcements",
        occurred_at=DAY_1, channel=HR, to_users=("alice",), to_departments=(2,), to_tags=(),
        msgtype="text", content="周报", parts=("周报",), requested_from="10.0.0.1",
    )


class TestInMemoryGovernanceStore(GovernanceStoreContract):
    @pytest.fixture
    async def store(self):
        return InMemoryEventStore()


class SqlGovernanceStoreContract(GovernanceStoreContract):
    async def test_a_pictures_bytes_go_when_its_content_is_removed(self, store):
        blobs = SqlAlchemyBlobStore(store._engine)
        message = replace(text_message("看图", "1", "alice"), channel=HR)
        kept = await blobs.put(b"\xff\xd8\xff a photo of a payslip", "image/jpeg")
        seen = PictureSeen(
            stream_id=message.dedup_key, version=2, conversation_id=message.conversation_id,
            digest=kept, media_type="image/jpeg", width=10, height=10,
        )
        await store.append([received(message), seen])
        assert await store.remove_content_of([message.dedup_key]) == 2
        assert await blobs.get(kept) is None
        assert (await store.read_stream(message.dedup_key))[1].digest == ""

    @pytest.mark.parametrize(
        "who, until, index",
        [
            ({"member": "member3"}, "2026-01-01", "ix_usage_member"),  # member_tokens_per_day
            ({"department": 2}, "2026-01-31", "ix_usage_department"),  # ..._per_month
        ],
    )
    async def test_a_quota_reads_its_member_or_department_through_their_index(
        self, store, who, until, index
    ):
        # Checked before every model call when quotas are set: the rows of one member's day
        # (or one department's month), found through an index that begins with them, not
        # every row of the day or of the channel. Many members over two days, with the
        # database's statistics taken: on one row a planner may take any index.
        for n in range(40):
            for day in (DAY_1, DAY_2):
                usage = Usage(100, 20)
                await self.spend(store, f"{n}-{day}", f"member{n}", usage, department=n % 8, at=day)
        async with store._engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
        with executed_statements() as statements:
            await store.tokens_used(HR, "2026-01-01", until, **who)
        [(statement, parameters)] = statements
        async with store._engine.connect() as conn:
            plan = await query_plan(conn, statement, parameters)
        assert any(index in step for step in plan), plan


class TestSqliteGovernanceStore(SqlGovernanceStoreContract):
    @pytest.fixture
    async def store(self, tmp_path):
        async for store in migrated_store(f"sqlite:///{tmp_path}/events.db"):
            yield store


class TestPostgresGovernanceStore(SqlGovernanceStoreContract):
    @pytest.fixture
    async def store(self):
        async for store in migrated_store(await emptied(postgres_url())):
            yield store
