"""Two apps and a bot in one service, wired by the container with fakes: each answers through
its own WeCom client with its own rules, welcome and model; memory and dedup per channel."""

from __future__ import annotations

from dataclasses import replace

from dependency_injector import providers

from application.pipeline.conversation_scheduler import SchedulerSettings
from domain.messages import InboundMessage
from infrastructure.config import parse_config
from infrastructure.container import Container
from tests.fakes.chat_model import FakeChatModel
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.fakes.wecom import FakeWeComGateway
from tests.support.events import text_message
from tests.unit.application.conftest import FakeClock, with_fakes

HR_AGENT, IT_AGENT = 1000002, 1000003


def config():
    app = {"token": "AppToken", "aes_key": "a" * 43, "rate_limit": None}
    wecom = {
        "corp_id": "ww-test", "single_chat_prefix": [""], "rate_limit": None,
        "apps": [
            {**app, "name": "hr", "agent_id": HR_AGENT, "corp_secret": "hr-secret",
             "welcome_message": "我是 HR 助手", "llm": {"system_prompt": "你是人事助手"}},
            {**app, "name": "it", "agent_id": IT_AGENT, "corp_secret": "it-secret",
             "single_chat_prefix": ["IT"], "welcome_message": "IT 帮手在此"},
        ],
        "aibots": [{"name": "team", "token": "BotToken", "aes_key": "b" * 43}],
    }
    llm = {"provider": "echo", "system_prompt": "你是助手"}
    return parse_config({"services": {"weworktop": wecom}, "llm": llm}, {})[0]


class World:
    def __init__(self, *answers: str):
        self.store = InMemoryEventStore()
        self.model = FakeChatModel(answers)
        self.wecom = {HR_AGENT: FakeWeComGateway(), IT_AGENT: FakeWeComGateway()}
        self.secrets = {}
        container = with_fakes(
            Container(config=config()), self.store, InMemoryLeaseStore(), self.model,
            None, FakeClock(), "p1", SchedulerSettings(workers=4),
        )
        container.wecom_gateway.override(providers.Callable(self._gateway))
        self.scheduler = container.scheduler()
        self.channels = container.channel_containers()

    def _gateway(self, corp_id, corp_secret, agent_id, observe):
        self.secrets[agent_id] = corp_secret
        return self.wecom[agent_id]

    async def say(self, channel: str, message: InboundMessage) -> bool:
        is_new = await self.channels[channel].accept()(replace(message, channel=channel))
        await self.scheduler.idle()
        return is_new


def to_app(content: str, agent_id: int, msg_id: str = "1") -> InboundMessage:
    return replace(text_message(content, msg_id=msg_id), agent_id=agent_id)


async def test_each_app_answers_through_its_own_client_and_secret():
    world = World("人事的答", "IT 的答")
    await world.say("app:hr", to_app("年假几天？", HR_AGENT))
    await world.say("app:it", to_app("IT 打印机坏了", IT_AGENT))

    assert world.wecom[HR_AGENT].sent == [("zhangsan", "人事的答")]
    assert world.wecom[IT_AGENT].sent == [("zhangsan", "IT 的答")]
    assert world.secrets == {HR_AGENT: "hr-secret", IT_AGENT: "it-secret"}


async def test_each_app_keeps_its_own_rules_and_system_prompt():
    world = World("答")
    await world.say("app:it", to_app("没有前缀的问题", IT_AGENT))
    assert world.wecom[IT_AGENT].sent == []  # "IT" is this app's prefix

    await world.say("app:hr", to_app("没有前缀的问题", HR_AGENT, msg_id="2"))
    assert [m.content for m in world.model.calls[-1][0]][0] == "你是人事助手"


async def test_each_app_has_its_own_welcome():
    world = World()
    enter = replace(text_message(""), msg_type="event", event="enter_agent", msg_id="")
    await world.say("app:hr", replace(enter, agent_id=HR_AGENT))
    await world.say("app:it", replace(enter, agent_id=IT_AGENT))
    assert world.wecom[HR_AGENT].sent == [("zhangsan", "我是 HR 助手")]
    assert world.wecom[IT_AGENT].sent == [("zhangsan", "IT 帮手在此")]


async def test_one_msg_id_on_two_channels_is_two_messages_and_a_retry_is_one():
    world = World("一", "二")
    assert await world.say("app:hr", to_app("IT 问题", HR_AGENT, msg_id="77"))
    assert await world.say("app:it", to_app("IT 问题", IT_AGENT, msg_id="77"))
    assert not await world.say("app:it", to_app("IT 问题", IT_AGENT, msg_id="77"))
    assert len(world.wecom[HR_AGENT].sent) == len(world.wecom[IT_AGENT].sent) == 1


async def test_a_members_chats_with_two_apps_are_remembered_apart():
    world = World("人事一", "IT 一", "人事二")
    await world.say("app:hr", to_app("第一问", HR_AGENT, msg_id="1"))
    await world.say("app:it", to_app("IT 另一件事", IT_AGENT, msg_id="2"))
    await world.say("app:hr", to_app("第二问", HR_AGENT, msg_id="3"))

    prompt = [(m.role, m.content) for m in world.model.calls[-1][0]]
    assert prompt == [
        ("system", "你是人事助手"), ("user", "第一问"), ("assistant", "人事一"),
        ("user", "第二问"),
    ]


async def test_a_message_of_a_channel_no_longer_configured_is_settled_with_the_reason():
    world = World()
    stray = replace(to_app("你好", HR_AGENT), channel="app:gone")
    await world.channels["app:hr"].accept()(stray)
    await world.scheduler.idle()
    [ignored] = [e for e in world.store.log if type(e).__name__ == "MessageIgnored"]
    assert "app:gone" in ignored.reason and world.wecom[HR_AGENT].sent == []
