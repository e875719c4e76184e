"""One member cannot run up the model bill: over the budget, one polite notice and no model
call; other members are not affected; the budget comes back as time passes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from application.pipeline.sender_rate_limiter import SenderRateLimiter
from domain.policy import ChatRules
from domain.rate_limit import RateLimit
from tests.fakes.wecom import FakeWeComGateway
from tests.support.events import received, text_message
from tests.unit.application.conftest import FakeClock, Service

VOICE = (Path(__file__).parents[2] / "data" / "voice_hello.amr").read_bytes()


class Limited:
    """The use case with a rate limiter of `messages` per minute, on the Service's fakes."""

    def __init__(self, messages: int = 2):
        self.clock = FakeClock(0.0)
        self.limiter = SenderRateLimiter(RateLimit(messages, 60))
        self.service = Service(rate_limiter=self.limiter)
        self.handle = self.service.handle
        self._ids = iter(range(1, 10_000))

    async def say(self, content: str, user: str = "zhangsan") -> list[str]:
        """What the member got back for this one message."""
        message = text_message(content, str(next(self._ids)), user)
        before = len(self.service.replies_to(user))
        # Counted at its arrival: the moment the callback recorded it.
        await self.service.store.append([replace(received(message), occurred_at=self.clock.now)])
        await self.handle(message.dedup_key)
        return self.service.replies_to(user)[before:]

    @property
    def model_calls(self) -> int:
        return len(self.service.model.calls)


async def test_over_the_budget_the_member_is_told_once_and_the_model_is_not_called():
    limited = Limited(messages=2)
    assert await limited.say("一") == ["answer to: 一"]
    assert await limited.say("二") == ["answer to: 二"]

    [notice] = await limited.say("三")
    assert notice.startswith("你的提问有点多") and "Please try again in about 60 seconds" in notice
    assert notice.index("每 60 秒最多回答 2 条") < notice.index("at most 2 messages")
    assert await limited.say("四") == []  # quietly ignored: no flood of notices either
    assert limited.model_calls == 2


async def test_the_refusal_is_recorded_with_its_reason():
    limited = Limited(messages=1)
    await limited.say("一")
    await limited.say("二")
    await limited.say("三")
    log = limited.service.store.log
    notices = [e for e in log if type(e).__name__ == "NoticeComposed"]
    assert [n.reason for n in notices] == ["rate limited"]
    ignored = [e for e in log if type(e).__name__ == "MessageIgnored"]
    assert len(ignored) == 1 and "rate limit" in ignored[0].reason
    assert await limited.service.store.pending() == []  # every message settled


async def test_other_members_keep_their_own_budget():
    limited = Limited(messages=1)
    await limited.say("一", user="zhangsan")
    await limited.say("二", user="zhangsan")
    assert await limited.say("你好", user="lisi") == ["answer to: 你好"]


async def test_the_budget_comes_back_after_the_window():
    limited = Limited(messages=1)
    await limited.say("一")
    assert (await limited.say("二"))[0].startswith("你的提问有点多")
    limited.clock.now += 61
    assert await limited.say("三") == ["answer to: 三"]


async def test_commands_do_not_use_the_budget():
    limited = Limited(messages=1)
    await limited.say("#help")
    await limited.say("#reset")
    assert await limited.say("问题") == ["answer to: 问题"]


async def test_without_a_limiter_nobody_is_limited(service):
    # 25: above the default budget of 20, below WeCom's 30 a minute (the pacer would wait).
    for i in range(25):
        await service.say(text_message(f"q{i}", str(i)))
    assert len(service.model.calls) == 25


async def test_a_backlog_handled_late_is_counted_as_it_arrived():
    # Three messages a minute apart, handled together long after (an outage): within a
    # budget of one a minute, so all three are answered.
    limited = Limited(messages=1)
    messages = [text_message(f"q{n}", str(n)) for n in range(3)]
    for n, message in enumerate(messages):
        arrived = replace(received(message), occurred_at=61.0 * n)
        await limited.service.store.append([arrived])
    for message in messages:
        await limited.handle(message.dedup_key)
    assert limited.service.replies_to("zhangsan") == [f"answer to: q{n}" for n in range(3)]


async def test_a_voice_message_over_the_budget_is_not_even_transcribed():
    limiter = SenderRateLimiter(RateLimit(1, 60))
    wecom = FakeWeComGateway(media={"VOICE": VOICE})
    service = Service(rules=ChatRules(speech_recognition=True), wecom=wecom, rate_limiter=limiter)
    for n in range(2):
        voice = replace(text_message("", str(n)), msg_type="voice", media_id="VOICE")
        await service.say(voice)  # both arrive now: one over the budget of one a minute
    assert len(service.speech.calls) == 1
    assert "rate limited" in [
        e.reason for e in service.store.log if type(e).__name__ == "NoticeComposed"
    ]
