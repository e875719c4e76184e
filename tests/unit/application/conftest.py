from __future__ import annotations

import dataclasses

import pytest
from dependency_injector import providers

from application.pipeline.conversation_scheduler import SchedulerSettings
from domain.policy import ChatRules
from infrastructure.config import parse_config
from infrastructure.container import Container
from tests.fakes.blob_store import InMemoryBlobStore
from tests.fakes.chat_model import FakeChatModel
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.image_model import FakeImageModel
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.fakes.media import FakePictureReader, FakeTextExtractor
from tests.fakes.speech import FakeAudioConverter, FakeSpeechToText
from tests.fakes.wecom import FakeWeComGateway

APP = "app:default"


class FakeClock:
    """Wall-clock time that tests move by hand (epoch seconds)."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def service_config(rules: ChatRules, system_prompt: str, **keys):
    """The seed's single-app configuration, with `rules` as its rule keys and `keys` (access,
    quota, …) beside them."""
    rule_keys = {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in dataclasses.asdict(rules).items()
    }
    wecom = {
        "corp_id": "ww-test", "corp_secret": "test-secret", "agent_id": 1000001,
        "token": "TestToken", "aes_key": "a" * 43, "rate_limit": None, **rule_keys, **keys,
    }
    llm = {"provider": "echo", "system_prompt": system_prompt}
    # A speech service to transcribe with (the tests put a fake in its place): without one,
    # speech_recognition would leave voice off.
    speech = {"provider": "openai", "base_url": "http://speech.test/v1"}
    raw = {"services": {"weworktop": wecom}, "llm": llm, "speech": speech}
    return parse_config(raw, {})[0]


def with_fakes(container, store, leases, model, wecom, clock, owner, settings) -> Container:
    """The container with fakes in place of the adapters that would need sockets or files."""
    container.event_store.override(store)
    container.lease_store.override(leases)
    container.chat_model.override(model)
    container.wecom_gateway.override(providers.Object(wecom))
    container.clock.override(providers.Object(clock))
    container.jitter.override(providers.Object(lambda: 0.0))
    container.owner.override(owner)
    container.scheduler_settings.override(settings)
    # Pictures and files: kept in memory, "read" without Pillow or a reader process.
    container.blob_store.override(InMemoryBlobStore())
    container.picture_reader.override(FakePictureReader())
    container.text_extractor.override(FakeTextExtractor())
    return container


class Service:
    """The service as the container wires it, with fakes in place of its adapters."""

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
        **keys,
    ):
        """`keys` are more keys of services.weworktop (access, quota, …)."""
        self.clock = clock or FakeClock()
        self.store = InMemoryEventStore()
        self.model = model or FakeChatModel()
        self.wecom = wecom or FakeWeComGateway()
        self.images = FakeImageModel()
        self.speech = FakeSpeechToText()
        self.converter = FakeAudioConverter()
        self.leases = leases or InMemoryLeaseStore()
        container = Container(config=service_config(rules or ChatRules(), system_prompt, **keys))
        with_fakes(
            container, self.store, self.leases, self.model, self.wecom, self.clock, owner,
            settings or SchedulerSettings(workers=4),
        )
        container.image_model.override(self.images)
        container.speech_to_text.override(self.speech)
        container.audio_converter.override(self.converter)
        app = container.channel_containers()[APP]
        if rate_limiter is not None:
            app.parts.rate_limiter.override(rate_limiter)
        self.container = container
        self.handle = container.handle_message()
        self.scheduler = container.scheduler()
        self.accept = app.accept()

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
