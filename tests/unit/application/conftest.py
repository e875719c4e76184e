from __future__ import annotations

import pytest

from application.delivery import DeliverReply
from application.handling import AssistantProfile, HandleMessage
from application.intake import AcceptMessage
from application.operator_alerts import OperatorAlerts
from application.scheduler import ConversationScheduler, SchedulerSettings
from application.send_pacer import SendPacer
from domain.policy import ChatRules
from domain.tokens import estimate_tokens
from tests.fakes.chat_model import FakeChatModel
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.lease_store import InMemoryLeaseStore
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
    ):
        self.clock = clock or FakeClock()
        self.store = InMemoryEventStore()
        self.model = model or FakeChatModel()
        self.wecom = FakeWeComGateway()
        self.leases = leases or InMemoryLeaseStore()
        self.deliver = DeliverReply(
            self.store, self.wecom, SendPacer(), OperatorAlerts(),
            give_up_after_seconds=3600, clock=self.clock, jitter=lambda: 0.0,
        )
        self.handle = HandleMessage(
            self.store, self.model, self.deliver, estimate_tokens,
            AssistantProfile(rules=rules or ChatRules(), system_prompt=system_prompt),
        )
        self.scheduler = ConversationScheduler(
            self.store, self.handle, self.leases, owner, settings or SchedulerSettings(workers=4),
            clock=self.clock,
        )
        self.accept = AcceptMessage(self.store, self.scheduler)

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
