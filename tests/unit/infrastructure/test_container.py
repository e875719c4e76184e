"""The container builds the service from configuration; tests swap ports through it."""

import copy

from dependency_injector import providers

from adapters.outbound.offline.echo_chat_model import EchoChatModel
from adapters.outbound.openai.httpx_openai_chat_model import HttpxOpenAIChatModel
from infrastructure.config import parse_config
from infrastructure.container import Container
from tests.fakes.chat_model import FakeChatModel
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.fakes.wecom import FakeWeComGateway
from tests.support.events import text_message
from tests.unit.infrastructure.test_config import PRODUCT_EXAMPLE


def container_for(**llm) -> Container:
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    raw["services"]["weworktop"]["single_chat_reply_prefix"] = "[助手] "
    raw["llm"] = llm
    config, _ = parse_config(raw, {})
    return Container(config=config)


def test_the_offline_model_is_the_default():
    assert isinstance(container_for().chat_model(), EchoChatModel)


def test_llm_provider_alone_picks_the_model_adapter():
    container = container_for(provider="openai", base_url="http://127.0.0.1:9/v1")
    assert isinstance(container.chat_model(), HttpxOpenAIChatModel)


async def test_a_message_flows_through_the_wired_use_cases_with_fakes_swapped_in():
    container = container_for()
    store, model, wecom = InMemoryEventStore(), FakeChatModel(["你好呀"]), FakeWeComGateway()
    container.event_store.override(store)
    container.chat_model.override(model)
    container.wecom_gateway.override(providers.Object(wecom))
    container.lease_store.override(InMemoryLeaseStore())

    accept = container.channel_containers()["app:default"].accept()
    assert await accept(text_message("你好"))
    await container.scheduler().idle()

    assert wecom.sent == [("zhangsan", "[助手] 你好呀")]
    system = model.calls[0][0][0]
    assert system.role == "system" and system.content == container.config().llm.system_prompt


def test_a_channel_with_a_model_of_its_own_gets_its_own_and_others_share_the_deployments():
    raw = copy.deepcopy(PRODUCT_EXAMPLE)
    app = {"token": "AppToken", "aes_key": "a" * 43, "corp_secret": "s"}
    raw["services"]["weworktop"]["apps"] = [
        {**app, "name": "hr", "agent_id": 1000002,
         "llm": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "gpt-4o"}},
        {**app, "name": "it", "agent_id": 1000003, "llm": {"system_prompt": "你是 IT 帮手"}},
    ]
    container = Container(config=parse_config(raw, {})[0])
    models = {
        name: built.parts.raw_chat_model()
        for name, built in container.channel_containers().items()
    }
    assert isinstance(models["app:hr"], HttpxOpenAIChatModel)
    # Only the prompt differs: the deployment's model, one client for both.
    assert models["app:it"] is models["app:default"] is container.chat_model()
