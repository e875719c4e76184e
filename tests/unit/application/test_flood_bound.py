"""A flood of valid messages from many members queues in the store instead of in memory: the
scheduler keeps at most `max_tasks` conversation tasks, and the sweep picks up the rest."""

from __future__ import annotations

import asyncio

from application.pipeline.conversation_scheduler import SchedulerSettings
from tests.fakes.chat_model import FakeChatModel
from tests.support.events import text_message
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
