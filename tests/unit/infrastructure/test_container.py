"""The container builds the service from configuration; tests swap ports through it."""

import copy

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
    assert isinstance(container_for().raw_chat_model(), EchoChatModel)


def test_llm_provider_alone_picks_the_model_adapter():
    container = container_for(provider="openai", base_url="http://127.0.0.1:9/v1")
    assert isinstance(container.raw_chat_model(), HttpxOpenAIChatModel)


async def test_a_message_flows_through_the_wired_use_cases_with_fakes_swapped_in():
    container = container_for()
    store, model, wecom = InMemoryEventStore(), FakeChatModel(["你好呀"]), FakeWeComGateway()
    container.event_store.override(store)
    container.chat_model.override(model)
    container.wecom_gateway.override(wecom)
    container.lease_store.override(InMemoryLeaseStore())

    accept = container.accept_message()
    assert await accept(text_message("你好"))
    await container.scheduler().idle()

    assert wecom.sent == [("zhangsan", "[助手] 你好呀")]
    system = model.calls[0][0][0]
    assert system.role == "system" and system.content == container.config().llm.system_prompt
