"""Retention removes aged content in bounded batches, one process at a time, and memory ends
where content was removed; an erasure removes one member's content now and is recorded."""

from __future__ import annotations

import time

from application.operator.erase_member import EraseMember
from application.operator.retention import DAY_SECONDS, Retention
from domain.events import MemberErased
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.support.events import text_message
from tests.unit.application.conftest import FakeClock, Service


async def no_sleep(_seconds: float) -> None:
    pass


def retention(store, leases, owner="p1", clock=None, batch=2) -> Retention:
    return Retention(
        store, leases, owner, days=30, clock=clock or FakeClock(), batch=batch, sleep=no_sleep
    )


def real_time() -> FakeClock:
    """Events are stamped by the wall clock; retention's clock starts there and moves on."""
    return FakeClock(time.time())


async def test_a_retention_run_removes_everything_aged_batch_by_batch_and_lets_go():
    clock = real_time()
    service = Service(clock=clock)
    for number in range(3):
        await service.say(text_message(f"问题{number}", str(number)))
    clock.now += 31 * DAY_SECONDS
    leases = InMemoryLeaseStore(clock)

    looked = await retention(service.store, leases, clock=clock).run_once()

    assert looked == len(service.store.log)
    assert [e.message.content for e in service.store.log if hasattr(e, "message")] == [""] * 3
    assert leases.leases == {}  # released for the next day's run, whoever holds it then


async def test_only_one_process_runs_it_at_a_time():
    leases = InMemoryLeaseStore()
    await leases.acquire("retention", "other-process", 300)
    store = InMemoryEventStore()
    assert await retention(store, leases).run_once() == 0


async def test_memory_ends_where_content_was_removed():
    clock = real_time()
    service = Service(clock=clock)
    await service.say(text_message("我叫张三", "1"))
    clock.now += 31 * DAY_SECONDS
    await retention(service.store, InMemoryLeaseStore(clock), clock=clock).run_once()
    await service.say(text_message("我叫什么？", "2"))

    messages, _ = service.model.calls[-1]
    assert [m.content for m in messages if m.role != "system"] == ["我叫什么？"]


async def test_an_erasure_removes_one_members_content_and_records_who_asked():
    service = Service()
    await service.say(text_message("我的工资条", "1", "zhangsan"))
    await service.say(text_message("你好", "2", "lisi"))
    erase = EraseMember(service.store, clock=service.clock)

    assert await erase("zhangsan", "HR 王经理, ticket 42") == 1
    assert await erase("nobody", "HR") is None

    log = service.store.log
    said = {e.message.from_user: e.message.content for e in log if hasattr(e, "message")}
    assert said == {"zhangsan": "", "lisi": "你好"}
    answers = [e.answer for e in log if type(e).__name__ == "AnswerComposed"]
    assert answers == ["", "answer to: 你好"]
    [audit] = [e for e in log if isinstance(e, MemberErased)]
    assert (audit.member, audit.requested_by, audit.messages) == (
        "zhangsan", "HR 王经理, ticket 42", 1
    )
