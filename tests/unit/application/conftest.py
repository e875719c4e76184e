from __future__ import annotations

import pytest

from application.channels.app.deliver_app_reply import DeliverReply
from application.channels.app.name_directory import NameDirectory
from application.channels.app.send_pacer import SendPacer
from application.pipeline.accept_message import AcceptMessage
from application.pipeline.ask_with_memory import AskWithMemory
from application.pipeline.conversation_scheduler import ConversationScheduler, SchedulerSettings
from application.pipeline.handle_message import HandleMessage, Skills
from application.pipeline.media_work import DrawPicture, TranscribeVoice
from application.pipeline.operator_alerts import OperatorAlerts
from domain.policy import ChatRules
from domain.tokens import estimate_tokens
from tests.fakes.chat_model import FakeChatModel
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.image_model import FakeImageModel
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.fakes.speech import FakeAudioConverter, FakeSpeechToText
from tests.fakes.wecom import FakeWeComGateway


class FakeClock:
    """Wall-clock time that tests move by hand (epoch seconds)."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Service:
    """The use cases wired to fakes, the way the container wires them to adapters."""

    def __init__(
        self,
        rules: ChatRules | None = None,
        system_prompt: str = "你是助手",
        model=None,
        clock=None,
        leases=None,
        owner: str = "test-process",
        settings: SchedulerSettings | None = None,
        wecom: FakeWeComGateway | None = None,
        rate_limiter=None,
    ):
        self.clock = clock or FakeClock()
        self.store = InMemoryEventStore()
        self.model = model or FakeChatModel()
        self.wecom = wecom or FakeWeComGateway()
        self.images = FakeImageModel()
        self.speech = FakeSpeechToText()
        self.converter = FakeAudioConverter()
        self.leases = leases or InMemoryLeaseStore()
        self.deliver = DeliverReply(
            self.store, self.wecom, SendPacer(), OperatorAlerts(),
            give_up_after_seconds=3600, clock=self.clock, jitter=lambda: 0.0,
        )
        rules = rules or ChatRules()
        skills = Skills(
            ask=AskWithMemory(
                self.store, self.model, estimate_tokens, system_prompt,
                rules.conversation_max_tokens, rules.max_single_msg_tokens,
            ),
            draw=DrawPicture(self.images, self.wecom),
            transcribe=TranscribeVoice(self.wecom, self.converter, self.speech),
            directory=NameDirectory(self.wecom),
        )
        self.handle = HandleMessage(
            self.store, skills, self.deliver, estimate_tokens, rules, rate_limiter
        )
        self.scheduler = ConversationScheduler(
            self.store, self.handle, self.leases, owner, settings or SchedulerSettings(workers=4),
            clock=self.clock,
        )
        self.accept = AcceptMessage(self.store, self.scheduler, rules.group_memory)

    async def say(self, message) -> bool:
        is_new = await self.accept(message)
        await self.scheduler.idle()
        return is_new

    def replies_to(self, user: str) -> list[str]:
        return [content for to_user, content in self.wecom.sent if to_user == user]

    def event_types(self, message) -> list[str]:
        return [type(e).__name__ for e in self.store.log if e.stream_id == message.dedup_key]


@pytest.fixture
def service() -> Service:
    return Service()
