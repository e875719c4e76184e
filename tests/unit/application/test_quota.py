"""Quotas: over a member's daily or a department's monthly tokens, one friendly notice saying
when the allowance renews, then quiet refusals with the reason; the model is not asked."""

from __future__ import annotations

from domain.events import ModelUsed
from domain.usage import Usage
from tests.fakes.chat_model import FakeChatModel
from tests.fakes.wecom import FakeWeComGateway
from tests.support.events import text_message
from tests.unit.application.conftest import FakeClock, Service

NAMES = {"alice": "Alice", "bob": "Bob"}
DEPARTMENTS = {"alice": (2,), "bob": (2,)}
JAN_31_NOON = 1_769_860_800.0  # 2026-01-31 12:00 UTC


class Quotaed:
    """A service whose model answers every call with 100 tokens, under `quota`."""

    def __init__(self, **quota):
        self.clock = FakeClock(JAN_31_NOON)
        wecom = FakeWeComGateway(names=NAMES, departments=DEPARTMENTS)
        self.service = Service(
            model=FakeChatModel(usage=Usage(60, 40)), wecom=wecom, clock=self.clock, quota=quota
        )
        self._ids = iter(range(1, 10_000))

    async def say(self, user: str = "alice") -> list[str]:
        before = len(self.service.replies_to(user))
        await self.service.say(text_message("问题", str(next(self._ids)), user))
        return self.service.replies_to(user)[before:]

    def reasons(self) -> list[str]:
        return [e.reason for e in self.service.store.log if hasattr(e, "reason")]

    def calls(self) -> int:
        return sum(isinstance(e, ModelUsed) for e in self.service.store.log)


async def test_over_a_members_daily_tokens_one_notice_says_when_it_renews_then_silence():
    quotaed = Quotaed(member_tokens_per_day=150)
    assert await quotaed.say() == ["answer to: 问题"]
    assert await quotaed.say() == ["answer to: 问题"]  # 100 used: under 150, so asked

    [notice] = await quotaed.say()
    assert notice == (
        "你今天的用量已用完（每天 150 token），将于北京时间 2026-02-01 08:00 恢复。\n"
        "You have used today's 150 tokens; the allowance renews at 2026-02-01 00:00 UTC."
    )
    assert await quotaed.say() == []
    assert quotaed.calls() == 2
    assert quotaed.reasons()[-2:] == [
        "over quota: member_tokens_per_day 150 used up for 2026-01-31",
        "over quota: member_tokens_per_day 150 used up for 2026-01-31; "
        "the member was already told",
    ]
    assert await quotaed.say("bob") == ["answer to: 问题"]  # another member's own allowance

    quotaed.clock.now += 12 * 3600  # 2026-02-01 00:00 UTC: a new day
    assert await quotaed.say() == ["answer to: 问题"]


async def test_a_department_shares_one_monthly_allowance():
    quotaed = Quotaed(department_tokens_per_month=200)
    assert await quotaed.say("alice") == ["answer to: 问题"]
    assert await quotaed.say("bob") == ["answer to: 问题"]

    [notice] = await quotaed.say("alice")
    assert notice.startswith("你所在部门本月的用量已用完（每月 200 token），将于北京时间 2026-02")
    [notice] = await quotaed.say("bob")  # each member is told once
    assert "Your department has used this month's 200 tokens" in notice
    assert quotaed.calls() == 2


async def test_without_a_quota_nothing_is_refused():
    quotaed = Quotaed()
    for _ in range(5):
        assert await quotaed.say() == ["answer to: 问题"]
