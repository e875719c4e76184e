from __future__ import annotations

import pytest

from application.handling import AssistantProfile, HandleMessage
from application.intake import AcceptMessage
from application.scheduler import ConversationScheduler
from domain.policy import ChatRules
from domain.tokens import estimate_tokens
from tests.fakes.chat_model import FakeChatModel
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.wecom import FakeWeComGateway


class Service:
    """The use cases wired to fakes, the way the container wires them to adapters."""

    def __init__(
        self, rules: ChatRules | None = None, system_prompt: str = "你是助手", model=None
    ):
        self.store = InMemoryEventStore()
        self.model = model or FakeChatModel()
        self.wecom = FakeWeComGateway()
        self.handle = HandleMessage(
            self.store, self.model, self.wecom, estimate_tokens,
            AssistantProfile(rules=rules or ChatRules(), system_prompt=system_prompt),
        )
        self.scheduler = ConversationScheduler(self.store, self.handle, workers=4)
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
