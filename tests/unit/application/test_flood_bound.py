"""A flood of valid messages from many members queues in the store instead of in memory: the
scheduler keeps at most `max_tasks` conversation tasks, and the sweep picks up the rest."""

from __future__ import annotations

import asyncio

from application.pipeline.conversation_scheduler import ConversationScheduler, SchedulerSettings
from tests.fakes.chat_model import FakeChatModel
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.support.events import received, text_message
from tests.unit.application.conftest import Service


async def test_a_flood_holds_at_most_max_tasks_in_memory_and_every_member_is_answered():
    service = Service(settings=SchedulerSettings(workers=2, max_tasks=3))
    users = [f"member{i}" for i in range(20)]
    for i, user in enumerate(users):
        assert await service.accept(text_message(f"q{i}", str(i), user))
    assert len(asyncio.all_tasks()) - 1 <= 3  # this test's own task aside

    sweeps = 0
    while await service.store.pending():
        await service.scheduler.idle()
        await service.scheduler.resume_pending()  # what the periodic sweep does
        assert len(asyncio.all_tasks()) - 1 <= 3
        sweeps += 1
    assert sweeps >= 20 // 3
    assert {user: service.replies_to(user) for user in users} == {
        user: [f"answer to: q{i}"] for i, user in enumerate(users)
    }


async def test_members_waiting_on_the_model_do_not_hold_the_workers():
    """Four workers, forty members whose answers the model holds back: every one of the
    forty calls is at the model at once, and once it answers, every member is answered."""
    gate = asyncio.Event()
    at_the_model = 0

    class HeldModel(FakeChatModel):
        async def _answer(self, messages, max_tokens):
            nonlocal at_the_model
            at_the_model += 1
            await gate.wait()
            return await super()._answer(messages, max_tokens)

    service = Service(model=HeldModel(), settings=SchedulerSettings(workers=4))
    for i in range(40):
        await service.accept(text_message("你好", str(i), user=f"member{i}"))
    for _ in range(100):
        if at_the_model == 40:
            break
        await asyncio.sleep(0.01)

    assert at_the_model == 40
    gate.set()
    await service.scheduler.idle()
    assert sorted(to for to, _ in service.wecom.sent) == sorted(f"member{i}" for i in range(40))


class CountingLeases(InMemoryLeaseStore):
    def __init__(self):
        super().__init__()
        self.renewals: list[int] = []

    async def renew(self, names, owner, seconds):
        self.renewals.append(len(names))
        return await super().renew(names, owner, seconds)


async def test_the_leases_of_conversations_handled_at_length_are_renewed_together():
    store, leases, gate = InMemoryEventStore(), CountingLeases(), asyncio.Event()
    for i in range(30):
        await store.append([received(text_message("hi", str(i), user=f"member{i}"))])

    async def slow(stream_id: str) -> None:
        await gate.wait()

    settings = SchedulerSettings(workers=30, lease_seconds=0.3)
    scheduler = ConversationScheduler(store, slow, leases, "me", settings)
    scheduler.start()
    await scheduler.resume_pending()
    await asyncio.sleep(0.5)  # longer than a lease: only renewals keep them

    assert leases.renewals and max(leases.renewals) == 30  # one call for thirty leases
    taken = [await leases.acquire(name, "other", 30) for name in list(leases.leases)]
    assert taken.count(True) == 0
    gate.set()
    await scheduler.idle()
    await scheduler.close()
    assert leases.leases == {}
