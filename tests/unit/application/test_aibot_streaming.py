"""AI bot messages through the use cases with fakes: recorded once, streamed onto the board
while the model writes, handed over to one refresh, late or too long through response_url."""

from __future__ import annotations

import asyncio
import time

from application.channels.aibot.refresh_stream import RefreshStream
from application.channels.aibot.stream_board import StreamBoard, StreamReply, StreamTiming
from application.pipeline.conversation_scheduler import SchedulerSettings
from domain.aibot_text import CONTINUED, TAKING_LONGER
from domain.messages import InboundMessage
from infrastructure.config import parse_config
from infrastructure.container import Container
from tests.fakes.aibot import FakeAiBotResponseUrl
from tests.fakes.chat_model import FakeChatModel
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.fakes.wecom import FakeWeComGateway
from tests.support.events import text_message
from tests.unit.application.conftest import FakeClock, with_fakes

CHAT = "wrkGroupA"
URL = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC1"
BOT = "aibot:default"


def bot_config(show_thinking: bool, max_tokens: int):
    bot = {"enabled": True, "token": "BotToken", "aes_key": "b" * 43,
           "show_thinking": show_thinking, "stream_seconds": 300}
    wecom = {
        "corp_id": "ww-test", "corp_secret": "test-secret", "agent_id": 1000001,
        "token": "TestToken", "aes_key": "a" * 43,
        "group_name_white_list": [CHAT], "rate_limit": None,
        "conversation_max_tokens": 4000 + max_tokens, "max_single_msg_tokens": max_tokens,
        "aibot": bot,
    }
    llm = {"provider": "echo", "system_prompt": "你是助手"}
    raw = {"services": {"weworktop": wecom}, "llm": llm}
    return parse_config(raw, {})[0]


class PieceGate:
    """Lets the fake model write one more piece per `release()`."""

    def __init__(self) -> None:
        self._permits = asyncio.Semaphore(0)

    async def __call__(self) -> None:
        await self._permits.acquire()

    def release(self, pieces: int = 1) -> None:
        for _ in range(pieces):
            self._permits.release()


class AiBotWorld:
    """The service as the container wires it for one AI bot, with fakes; `board` is this
    process's, and `second_refresh` answers refreshes as another process would (its own
    empty board)."""

    def __init__(
        self, *replies: str, gate: PieceGate | None = None, show_thinking=False, max_tokens=1000
    ):
        # Events are stamped with the real time, and stream deadlines count from that stamp.
        self.clock = FakeClock(time.time())
        self.store = InMemoryEventStore()
        self.model = FakeChatModel(replies, between_pieces=gate)
        self.responder = FakeAiBotResponseUrl()
        self.board = StreamBoard(clock=self.clock)
        container = Container(config=bot_config(show_thinking, max_tokens))
        with_fakes(
            container, self.store, InMemoryLeaseStore(), self.model, FakeWeComGateway(),
            self.clock, "p1", SchedulerSettings(workers=4),
        )
        container.stream_board.override(self.board)
        container.aibot_response_url.override(self.responder)
        bot = container.channel_containers()[BOT]
        self.scheduler = container.scheduler()
        self.accept = bot.accept()
        self.app_accept = container.channel_containers()["app:default"].accept()
        self.refresh = bot.callback()._refresh
        self.second_refresh = RefreshStream(
            BOT, self.store, StreamBoard(clock=self.clock), self.scheduler,
            StreamTiming(stream_seconds=300), self.clock,
        )

    async def settle(self) -> None:
        for _ in range(50):
            await asyncio.sleep(0)

    def types(self, message: InboundMessage) -> list[str]:
        return [type(e).__name__ for e in self.store.log if e.stream_id == message.dedup_key]


def mention(content: str, msg_id: str = "M1", chat: str = CHAT) -> InboundMessage:
    return InboundMessage(
        msg_type="text", from_user="zhangsan", create_time=1_700_000_000, agent_id=0,
        msg_id=msg_id, content=content, chat_id=chat, channel=BOT, response_url=URL,
    )


async def test_a_mention_streams_growing_text_and_one_refresh_gets_the_final_answer_once():
    gate = PieceGate()
    world = AiBotWorld("周会在周三上午十点。", gate=gate)

    accepted = await world.accept(mention("@小知 周会几点？"))
    assert accepted.is_new and accepted.reply == StreamReply("M1", "", finish=False)
    shown = []
    for _ in range(4):
        await world.settle()
        reply = await world.refresh("M1")
        assert not reply.finish
        shown.append(reply.content)
        gate.release()
    gate.release(10)
    await world.scheduler.idle()
    final = await world.refresh("M1")

    assert final == StreamReply("M1", "周会在周三上午十点。", finish=True)
    assert shown == ["周会在", "周会在周三上", "周会在周三上午十点", "周会在周三上午十点。"]
    assert world.types(mention("")) == [
        "MessageReceived", "ModelUsed", "AnswerComposed", "ReplyPartSent", "ReplyDelivered",
    ]
    assert await world.refresh("M1") == final  # a repeated refresh: same content, nothing new
    assert len(world.store.log) == 5 and world.responder.posts == []


async def test_a_retried_callback_gets_the_same_stream_and_no_second_answer():
    world = AiBotWorld()
    first = await world.accept(mention("@小知 你好"))
    await world.scheduler.idle()
    again = await world.accept(mention("@小知 你好"))
    await world.scheduler.idle()

    assert not again.is_new and again.reply.stream_id == first.reply.stream_id
    assert world.model.streamed_calls == 1
    assert world.types(mention("")).count("AnswerComposed") == 1


async def test_a_group_off_the_white_list_opens_no_stream_and_costs_no_model_call():
    world = AiBotWorld()
    accepted = await world.accept(mention("@小知 你好", chat="wrkGroupOther"))
    await world.scheduler.idle()

    assert accepted.reply is None
    assert world.types(mention("", chat="wrkGroupOther")) == ["MessageReceived", "MessageIgnored"]
    assert world.model.calls == []


async def test_a_model_slower_than_the_stream_closes_it_and_answers_through_response_url():
    gate = PieceGate()
    world = AiBotWorld("慢慢写出来的完整回答", gate=gate)
    await world.accept(mention("@小知 写点东西"))
    await world.settle()
    assert (await world.refresh("M1")).content == "慢慢写"

    world.clock.now += 301
    closed = await world.refresh("M1")
    gate.release(10)
    await world.scheduler.idle()

    assert closed == StreamReply("M1", "慢慢写" + TAKING_LONGER, finish=True)
    assert world.responder.posts == [(URL, "慢慢写出来的完整回答")]
    assert world.types(mention("")) == [
        "MessageReceived", "ModelUsed", "AnswerComposed", "ReplyPartSent", "ReplyDelivered",
    ]
    assert (await world.refresh("M1")).content == "慢慢写出来的完整回答"


async def test_an_answer_nobody_refreshed_goes_through_response_url_after_the_deadline():
    world = AiBotWorld("答案")
    await world.accept(mention("@小知 问"))
    await world.scheduler.idle()
    assert world.responder.posts == []  # waiting for the stream to carry it

    world.clock.now += 301
    await world.scheduler.resume_pending()
    await world.scheduler.idle()

    assert world.responder.posts == [(URL, "答案")]
    assert world.types(mention(""))[-1] == "ReplyDelivered"


async def test_an_answer_too_long_for_the_stream_continues_through_response_url():
    answer = "".join(f"第{i}段。" for i in range(2000))
    world = AiBotWorld(answer, max_tokens=20_000)
    await world.accept(mention("@小知 写长一点"))
    await world.scheduler.idle()

    final = await world.refresh("M1")
    await world.scheduler.idle()

    assert final.finish and final.content.endswith(CONTINUED)
    [(url, rest)] = world.responder.posts
    assert final.content.removesuffix(CONTINUED) + rest == answer
    assert world.types(mention(""))[-3:] == ["ReplyPartSent", "ReplyPartSent", "ReplyDelivered"]


async def test_reasoning_is_never_shown_or_remembered_unless_configured():
    gate = PieceGate()
    raw = "<think>用户想知道时间</think>\n\n十点。"
    world = AiBotWorld(raw, gate=gate)
    await world.accept(mention("@小知 几点"))
    seen = []
    for _ in range(12):
        await world.settle()
        seen.append((await world.refresh("M1")).content)
        gate.release()
    await world.scheduler.idle()
    seen.append((await world.refresh("M1")).content)

    assert all("用户想知道" not in text and "<" not in text for text in seen)
    assert seen[-1] == "十点。"
    [answer] = [e for e in world.store.log if type(e).__name__ == "AnswerComposed"]
    assert answer.answer == "十点。"

    shown = AiBotWorld(raw, show_thinking=True)
    await shown.accept(mention("@小知 几点"))
    await shown.scheduler.idle()
    assert (await shown.refresh("M1")).content == raw


async def test_a_refresh_reaching_another_process_gets_the_final_answer_once():
    gate = PieceGate()
    world = AiBotWorld("答案", gate=gate)
    await world.accept(mention("@小知 问"))
    await world.settle()
    # Another process has no text in progress: the stream stays open, empty, rather than wrong.
    assert await world.second_refresh("M1") == StreamReply("M1", "", finish=False)
    gate.release(5)
    await world.scheduler.idle()

    assert await world.second_refresh("M1") == StreamReply("M1", "答案", finish=True)
    assert await world.refresh("M1") == StreamReply("M1", "答案", finish=True)
    assert world.types(mention("")).count("ReplyPartSent") == 1


async def test_a_busy_response_url_is_tried_again_and_a_refusal_is_recorded():
    world = AiBotWorld("答案")
    world.responder.fail_next()
    await world.accept(mention("@小知 问"))
    await world.scheduler.idle()
    world.clock.now += 301
    await world.scheduler.resume_pending()
    await world.scheduler.idle()
    assert world.types(mention(""))[-1] == "DeliveryPostponed"

    world.clock.now += 60
    await world.scheduler.resume_pending()
    await world.scheduler.idle()
    assert world.responder.posts == [(URL, "答案")]

    refused = AiBotWorld("答案")
    refused.responder.fail_next(permanent=True, errcode=600001)
    await refused.accept(mention("@小知 问"))
    refused.clock.now += 301
    await refused.scheduler.idle()
    await refused.scheduler.resume_pending()
    await refused.scheduler.idle()
    assert refused.types(mention(""))[-1] == "DeliveryFailed"


async def test_the_bot_remembers_its_own_conversation_apart_from_the_apps():
    world = AiBotWorld("第一答", "第二答", "应用的答")
    await world.accept(mention("@小知 第一问", msg_id="M1"))
    await world.scheduler.idle()
    await world.refresh("M1")
    await world.app_accept(text_message("应用里的问题", msg_id="9"))
    await world.scheduler.idle()
    await world.accept(mention("@小知 第二问", msg_id="M2"))
    await world.scheduler.idle()

    last_prompt = [(m.role, m.content) for m in world.model.calls[-1][0]]
    assert last_prompt == [
        ("system", "你是助手"), ("user", "第一问"), ("assistant", "第一答"), ("user", "第二问"),
    ]


async def test_the_next_mention_in_the_group_is_answered_as_soon_as_one_is_handed_over():
    world = AiBotWorld("第一答", "第二答")
    await world.accept(mention("@小知 第一问", msg_id="M1"))
    await world.scheduler.idle()
    await world.accept(mention("@小知 第二问", msg_id="M2"))
    await world.scheduler.idle()
    assert "AnswerComposed" not in world.types(mention("", msg_id="M2"))  # waits its turn

    await world.refresh("M1")
    await world.scheduler.idle()

    assert (await world.refresh("M2")) == StreamReply("M2", "第二答", finish=True)
