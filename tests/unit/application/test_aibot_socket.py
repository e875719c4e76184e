"""The AI bot over the long connection, through the use cases with a fake link: answers shown
growing in frames and finished once; what the link could not carry in time, or lost when it
dropped, sent as the bot's own message once it is back; welcomes; feedback on the answer."""

from __future__ import annotations

import asyncio
import time

from dependency_injector import providers

from application.channels.aibot.record_feedback import Feedback
from application.pipeline.conversation_scheduler import SchedulerSettings
from application.ports.aibot_link import LinkDown
from application.ports.wecom import DeliveryError
from domain.aibot_text import CONTINUED, TAKING_LONGER
from domain.events import FeedbackGiven
from domain.messages import InboundMessage
from infrastructure.config import parse_config
from infrastructure.container import Container
from tests.fakes.aibot_link import FakeAiBotLink
from tests.fakes.chat_model import FakeChatModel
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.fakes.wecom import FakeWeComGateway
from tests.unit.application.conftest import FakeClock, with_fakes
from tests.unit.application.test_aibot_streaming import PieceGate

BOT = "aibot:team"
CHAT = "wrkGroupA"


def socket_config(welcome: str, max_tokens: int, give_up: float):
    bot = {
        "name": "team", "mode": "websocket", "bot_id": "aib-team", "secret": "bot-secret",
        "ws_url": "ws://127.0.0.1:9/", "stream_seconds": 300,
    }
    wecom = {
        "aibots": [bot], "group_name_white_list": [CHAT], "rate_limit": None,
        "welcome_message": welcome, "conversation_max_tokens": 4000 + max_tokens,
        "max_single_msg_tokens": max_tokens, "delivery_give_up_seconds": give_up,
    }
    raw = {"services": {"weworktop": wecom}, "llm": {"provider": "echo", "system_prompt": ""}}
    return parse_config(raw, {})[0]


class SocketWorld:
    """The service as the container wires it for one bot in websocket mode, with a fake link
    whose current connection brought every message sent with `say`."""

    def __init__(
        self, *replies: str, gate=None, welcome: str = "", max_tokens=1000, give_up=3600.0
    ):
        # Events are stamped with the real time, and deadlines count from that stamp.
        self.clock = FakeClock(time.time())
        self.store = InMemoryEventStore()
        self.model = FakeChatModel(replies, between_pieces=gate)
        self.link = FakeAiBotLink()
        container = Container(config=socket_config(welcome, max_tokens, give_up))
        with_fakes(
            container, self.store, InMemoryLeaseStore(), self.model, FakeWeComGateway(),
            self.clock, "p1", SchedulerSettings(workers=4),
        )
        bot = container.channel_containers()[BOT]
        bot.link.override(providers.Object(self.link))
        bot.frame_gap.override(providers.Object(0.0))
        self.scheduler = container.scheduler()
        self.accept = bot.accept()
        self.record_feedback = bot.record_feedback()
        # What the link's holder calls once it is connected again.
        self.holder_on_up = bot.link_up()

    async def say(self, message: InboundMessage) -> bool:
        if self.link.up:
            self.link.came_in(message.req_id)
        return await self.accept(message)

    async def settle(self) -> None:
        for _ in range(50):
            await asyncio.sleep(0)

    async def link_back(self) -> None:
        """The link is up again, on a new connection: waiting answers are looked at."""
        self.link.up = True
        await self.holder_on_up()
        await self.scheduler.idle()

    def types(self, message: InboundMessage) -> list[str]:
        return [type(e).__name__ for e in self.store.log if e.stream_id == message.dedup_key]


def text(content: str, msg_id: str = "M1", user: str = "zhangsan", chat: str = ""):
    return InboundMessage(
        msg_type="text", from_user=user, create_time=1_700_000_000, agent_id=0, msg_id=msg_id,
        content=content, chat_id=chat, channel=BOT, req_id=f"req-{msg_id}",
    )


def enter_chat(msg_id: str = "E1", user: str = "zhangsan") -> InboundMessage:
    return InboundMessage(
        msg_type="event", event="enter_chat", from_user=user, create_time=1_700_000_000,
        agent_id=0, msg_id=msg_id, channel=BOT, req_id=f"req-{msg_id}",
    )


async def test_an_answer_grows_in_frames_and_one_finishing_frame_is_recorded():
    gate = PieceGate()
    world = SocketWorld("周会在周三上午十点。", gate=gate)
    await world.say(text("周会几点？"))
    for _ in range(4):
        await world.settle()
        gate.release()
    gate.release(10)
    await world.scheduler.idle()

    growing = [f.content for f in world.link.frames if not f.finish]
    assert len(growing) >= 3, "the answer was seen growing"
    assert all(b.startswith(a) for a, b in zip(growing, growing[1:], strict=False))
    [final] = world.link.finished("M1")
    assert final.content == "周会在周三上午十点。" and final.req_id == "req-M1"
    assert {f.feedback_id for f in world.link.frames} == {"M1"}
    assert world.link.frames[-1] == final and world.link.markdown == []
    assert world.types(text("")) == [
        "MessageReceived", "ModelUsed", "AnswerComposed", "ReplyPartSent", "ReplyDelivered",
    ]


async def test_a_message_delivered_again_is_answered_once_and_the_model_asked_once():
    world = SocketWorld()
    assert await world.say(text("你好"))
    await world.scheduler.idle()
    again = InboundMessage(**{**text("你好").__dict__, "req_id": "req-after-reconnect"})
    assert not await world.say(again)
    await world.scheduler.idle()

    assert world.model.streamed_calls == 1
    assert len(world.link.finished("M1")) == 1 and world.link.markdown == []


async def test_a_link_down_when_the_answer_is_ready_sends_it_once_the_link_is_back():
    gate = PieceGate()
    world = SocketWorld("答案", gate=gate)
    await world.say(text("问"))
    await world.settle()
    world.link.drop()
    gate.release(5)
    await world.scheduler.idle()
    assert world.link.finished("M1") == []
    # It waits, and its waiting is not recorded.
    assert world.types(text("")) == ["MessageReceived", "ModelUsed", "AnswerComposed"]

    await world.link_back()

    # The req_id belonged to the dropped connection: the bot sends the answer on its own.
    assert world.link.markdown == [("zhangsan", "答案")]
    assert world.types(text(""))[-2:] == ["ReplyPartSent", "ReplyDelivered"]
    await world.link_back()
    assert world.link.markdown == [("zhangsan", "答案")]


async def test_a_link_that_drops_during_the_finishing_frame_sends_the_answer_once_later():
    world = SocketWorld("答案")  # written at once: the finishing frame is the only one
    world.link.fail_next(LinkDown("the link closed"))
    await world.say(text("问", chat=CHAT))
    await world.scheduler.idle()
    assert world.types(text(""))[-1] == "DeliveryPostponed"
    world.link.drop()

    await world.link_back()

    assert world.link.markdown == [(CHAT, "答案")]  # a group message: to the group
    assert world.types(text("")).count("ReplyPartSent") == 1


async def test_after_the_streams_deadline_the_answer_is_a_message_of_its_own():
    gate = PieceGate()
    world = SocketWorld("慢慢写出来的完整回答", gate=gate)
    await world.say(text("写点东西"))
    gate.release(1)
    await world.settle()
    world.clock.now += 301
    gate.release(10)
    await world.scheduler.idle()

    shown = [f.content for f in world.link.frames if not f.finish]
    assert shown[-1].startswith("慢慢写")
    closing = world.link.finished("M1")
    assert [f.content for f in closing] == [shown[-1] + TAKING_LONGER]
    assert world.link.markdown == [("zhangsan", "慢慢写出来的完整回答")]
    assert world.types(text(""))[-1] == "ReplyDelivered"


async def test_an_answer_too_long_for_one_stream_continues_as_a_message():
    answer = "".join(f"第{i}段。" for i in range(2000))
    world = SocketWorld(answer, max_tokens=20_000)
    await world.say(text("写长一点"))
    await world.scheduler.idle()

    [final] = world.link.finished("M1")
    assert final.content.endswith(CONTINUED)
    [(to, rest)] = world.link.markdown
    assert to == "zhangsan" and final.content.removesuffix(CONTINUED) + rest == answer
    assert world.types(text(""))[-3:] == ["ReplyPartSent", "ReplyPartSent", "ReplyDelivered"]


async def test_a_frame_wecom_refuses_for_good_goes_as_a_message_and_busy_is_tried_again():
    refused = SocketWorld("答案")  # written at once: the finishing frame is the only one
    refused.link.fail_next(DeliveryError("req_id expired", errcode=40058, permanent=True))
    await refused.say(text("问"))
    await refused.scheduler.idle()
    assert refused.link.markdown == [("zhangsan", "答案")]

    busy = SocketWorld("答案")
    busy.link.fail_next(DeliveryError("busy", errcode=-1, permanent=False))
    await busy.say(text("问"))
    await busy.scheduler.idle()
    assert busy.types(text(""))[-1] == "DeliveryPostponed"
    busy.clock.now += 60
    await busy.scheduler.resume_pending()
    await busy.scheduler.idle()
    assert [f.content for f in busy.link.finished("M1")] == ["答案"]


async def test_a_link_down_for_longer_than_the_give_up_time_fails_the_reply():
    world = SocketWorld("答案", give_up=600)
    world.link.drop()
    await world.say(text("问"))
    await world.scheduler.idle()
    world.clock.now += 601
    await world.scheduler.resume_pending()
    await world.scheduler.idle()
    assert world.types(text(""))[-1] == "DeliveryFailed"


async def test_entering_the_chat_is_welcomed_within_five_seconds_or_not_at_all():
    world = SocketWorld(welcome="欢迎！我是团队助手。")
    await world.say(enter_chat())
    await world.scheduler.idle()
    assert world.link.welcomes == [("req-E1", "欢迎！我是团队助手。")]
    assert world.model.calls == []

    late = SocketWorld(welcome="欢迎！")
    late.link.drop()
    await late.say(enter_chat())
    await late.scheduler.idle()
    late.clock.now += 6
    await late.link_back()
    assert late.link.welcomes == [] and late.link.markdown == []
    assert late.types(enter_chat())[-1] == "DeliveryFailed"

    silent = SocketWorld()  # no welcome_message: nothing to say
    await silent.say(enter_chat())
    await silent.scheduler.idle()
    assert silent.types(enter_chat()) == ["MessageReceived", "MessageIgnored"]


async def test_feedback_is_recorded_on_the_answered_message_once():
    world = SocketWorld("答案")
    await world.say(text("问"))
    await world.scheduler.idle()
    feedback = Feedback("M1", "zhangsan", "bad", "不够详细", (2,), wecom_msg_id="FB1")

    assert await world.record_feedback(feedback)
    assert await world.record_feedback(feedback)  # delivered again after a reconnect
    assert not await world.record_feedback(Feedback("nope", "zhangsan", "good"))

    [given] = [e for e in world.store.log if isinstance(e, FeedbackGiven)]
    assert (given.stream_id, given.rating, given.comment, given.reasons) == (
        f"{BOT}/msg:M1", "bad", "不够详细", (2,),
    )
    assert world.types(text(""))[-2:] == ["ReplyDelivered", "FeedbackGiven"]


async def test_feedback_between_the_finishing_frame_and_its_record_sends_nothing_twice():
    world = SocketWorld("答案")
    feedback = Feedback("M1", "zhangsan", "good", wecom_msg_id="FB1")

    async def rated_at_once() -> None:
        assert await world.record_feedback(feedback)

    world.link.after_finish = rated_at_once
    await world.say(text("问"))
    await world.scheduler.idle()

    assert len(world.link.finished("M1")) == 1 and world.link.markdown == []
    assert world.types(text("")) == [
        "MessageReceived", "ModelUsed", "AnswerComposed", "FeedbackGiven", "ReplyPartSent",
        "ReplyDelivered",
    ]
