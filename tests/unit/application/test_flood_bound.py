"""A flood of valid messages from many members queues in the store instead of in memory: the
scheduler keeps at most `max_tasks` conversation tasks, and the sweep picks up the rest."""

from __future__ import annotations

import asyncio

from application.pipeline.conversation_scheduler import SchedulerSettings
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
