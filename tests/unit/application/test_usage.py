"""Every model call records what it cost with the answer it paid for: the server's count of
tokens when it sends one, our estimate otherwise (marked), pictures, seconds of voice; each
counted to the member and their main department."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from domain.events import ModelUsed
from domain.policy import ChatRules
from domain.usage import Usage
from tests.fakes.chat_model import FakeChatModel
from tests.fakes.wecom import FakeWeComGateway
from tests.support.events import text_message
from tests.unit.application.conftest import Service

VOICE = (Path(__file__).parents[2] / "data" / "voice_hello.amr").read_bytes()


def costs(service: Service) -> list[ModelUsed]:
    return [event for event in service.store.log if isinstance(event, ModelUsed)]


async def test_the_servers_count_is_recorded_with_the_answer_and_the_askers_department():
    wecom = FakeWeComGateway(names={"lisi": "李四"}, departments={"lisi": (3, 2)})
    service = Service(model=FakeChatModel(usage=Usage(120, 30)), wecom=wecom)
    message = text_message("周会几点？", "1", "lisi")
    await service.say(message)

    [cost] = costs(service)
    assert (cost.channel, cost.member, cost.department) == ("app:default", "lisi", 3)
    assert cost.usage == Usage(120, 30)
    assert service.event_types(message)[1:3] == ["ModelUsed", "AnswerComposed"]


async def test_without_a_count_from_the_server_the_tokens_are_estimated_and_marked():
    service = Service(system_prompt="你是助手")
    await service.say(text_message("你好", "1"))

    [cost] = costs(service)
    # system prompt 4 + question 2, each with 4 of framing; "answer to: 你好" is 2+1+1+2.
    assert cost.usage == Usage(tokens_in=14, tokens_out=6, estimated=True)
    assert cost.department is None  # the member is not in WeCom's directory


async def test_a_picture_and_seconds_of_voice_are_counted_too():
    rules = ChatRules(image_create_prefix=("画",), speech_recognition=True)
    service = Service(rules=rules, wecom=FakeWeComGateway(media={"voice-1": VOICE}))
    await service.say(text_message("画 一只猫", "1"))
    await service.say(replace(text_message("", "2"), msg_type="voice", media_id="voice-1"))

    assert [cost.usage.pictures for cost in costs(service)] == [1, 0, 0]
    heard = costs(service)[1].usage
    assert heard.audio_seconds > 0 and heard.tokens == 0
    assert costs(service)[2].usage.estimated  # the answer to what was said


async def test_a_failed_model_call_costs_nothing():
    service = Service()
    service.model.fail_next()
    await service.say(text_message("你好", "1"))
    assert costs(service) == []
