"""The long-connection adapter (WebSocketAiBotLink) against the WeCom emulator's real WebSocket
server on 127.0.0.1: subscribe, frames and their acks one at a time, the bot's own messages,
welcomes and feedback in, drops and dead links dialled again, a refused BotID and a bot taken
by another deployment left to the operator, one holder among several processes, and frames
that are not WeCom's skipped with the link kept up. The emulator checks every frame's shape
and req_id; each test ends with its list of violations empty."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable

import pytest

from adapters.inbound.wecom_aibot.aibot_link_holder import INBOUND_CAPACITY, AiBotLinkHolder
from adapters.inbound.wecom_aibot.websocket_aibot_link import WebSocketAiBotLink
from adapters.outbound.metrics.prometheus_telemetry import PrometheusTelemetry
from application.channels.aibot.record_feedback import Feedback
from application.ports.aibot_link import CONNECTED, REFUSED, REPLACED, STANDBY, LinkDown
from domain.messages import InboundMessage
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.support.live_server import serve
from wecom_emulator import WeComEmulator

BOT = "aibot:team"
HEARTBEAT = 0.3


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.02)


class Intake:
    """What the link handed to the pipeline: messages (accept) and feedback."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self.feedback: list[Feedback] = []
        self.delay = 0.0

    async def accept(self, message: InboundMessage) -> bool:
        await asyncio.sleep(self.delay)
        is_new = all(m.msg_id != message.msg_id for m in self.messages)
        self.messages.append(message)
        return is_new

    async def record_feedback(self, feedback: Feedback) -> bool:
        self.feedback.append(feedback)
        return True


class World:
    def __init__(self, wecom: WeComEmulator, ws_url: str):
        self.wecom, self.bots, self.ws_url = wecom, wecom.aibots, ws_url
        self.bot = self.bots.add_bot("aib-team")
        self.leases = InMemoryLeaseStore()
        self.intake = Intake()
        self.telemetry = PrometheusTelemetry()
        self.holders: dict[WebSocketAiBotLink, AiBotLinkHolder] = {}

    def link(self, owner: str = "p1", secret: str | None = None, **options) -> WebSocketAiBotLink:
        """The link of one more process serving the bot, and its holder started."""
        link = WebSocketAiBotLink(BOT, self.telemetry)
        holder = AiBotLinkHolder(
            link=link, channel=BOT, ws_url=self.ws_url, bot_id=self.bot.bot_id,
            secret=self.bot.secret if secret is None else secret,
            heartbeat_seconds=HEARTBEAT, leases=self.leases, owner=owner, lease_seconds=3,
            accept=self.intake.accept, record_feedback=self.intake.record_feedback,
            telemetry=self.telemetry, **options,
        )
        holder.start()
        self.holders[link] = holder
        return link

    async def emulate(self, work):
        """Runs one of the emulator's async methods on its own loop (another thread)."""
        return await asyncio.wrap_future(self.bots.submit(work))

    async def say(self, text: str, user: str = "zhangsan", chat: str | None = None) -> str:
        count = len(self.intake.messages)
        msgid = await self.emulate(self.bots.push_text(self.bot, user, text, chat))
        await eventually(lambda: len(self.intake.messages) > count, what="the message")
        return msgid


@pytest.fixture
async def world():
    wecom = WeComEmulator()
    with serve(wecom.app) as base_url:
        world = World(wecom, base_url.replace("http://", "ws://") + "/")
        yield world
        for holder in world.holders.values():
            await holder.close()
        assert world.bots.violations == []


async def test_a_message_comes_in_and_is_answered_by_frames_that_finish_once(world):
    world.bots.ack_delay = 0.05  # an ack that takes a while: frames must wait for it
    link = world.link()
    await eventually(link.is_up, what="the subscribe")
    msgid = await world.say("@小知 周会几点？", chat="wrkGroupA")
    [message] = world.intake.messages
    assert (message.msg_id, message.chat_id, message.channel) == (msgid, "wrkGroupA", BOT)
    assert link.answers(message.req_id) and not link.answers("req-from-elsewhere")

    frames = [link.respond_stream(message.req_id, msgid, text, finish=False, feedback_id=msgid)
              for text in ("周会", "周会在周三")]
    await asyncio.gather(*frames)  # two at once: the second waits for the first's ack
    await link.respond_stream(message.req_id, msgid, "周会在周三十点。", finish=True,
                              feedback_id=msgid)

    stream = world.bots.stream(msgid)
    assert [(f.content, f.finish) for f in stream] == [
        ("周会", False), ("周会在周三", False), ("周会在周三十点。", True),
    ]
    assert [f.feedback_id for f in stream] == [msgid, None, None]  # on the first frame only
    assert world.bots.answer(msgid) == "周会在周三十点。"


async def test_the_bot_sends_markdown_on_its_own_and_welcomes_within_five_seconds(world):
    link = world.link()
    await eventually(link.is_up)
    await link.send_markdown("zhangsan", "**稍后的回答**")
    assert world.bots.markdown_to("zhangsan") == ["**稍后的回答**"]

    await world.emulate(world.bots.push_enter_chat(world.bot, "lisi"))
    await eventually(lambda: world.intake.messages, what="enter_chat")
    [entered] = world.intake.messages
    assert (entered.msg_type, entered.event, entered.from_user) == ("event", "enter_chat", "lisi")
    await link.respond_welcome(entered.req_id, "你好，我是团队助手")
    assert world.bots.welcomes == ["你好，我是团队助手"]


async def test_feedback_comes_in_for_the_answer_it_names(world):
    link = world.link()
    await eventually(link.is_up)
    await world.emulate(world.bots.push_feedback(world.bot, "zhangsan", "MSG1", 2, "不对", (1,)))
    await eventually(lambda: world.intake.feedback, what="the feedback")
    [feedback] = world.intake.feedback
    assert (feedback.feedback_id, feedback.from_user, feedback.rating, feedback.comment) == (
        "MSG1", "zhangsan", "bad", "不对",
    )


async def test_a_dropped_link_is_dialled_again_and_the_old_req_ids_are_not_answered(world):
    link = world.link()
    await eventually(link.is_up)
    await world.say("问")
    old_req = world.intake.messages[0].req_id
    started = time.monotonic()
    await world.emulate(world.bots.drop(world.bot))
    await eventually(lambda: not link.is_up(), what="the drop noticed")
    with pytest.raises(LinkDown):
        await link.send_markdown("zhangsan", "nobody hears this")
    await eventually(link.is_up, what="the link back")
    took = time.monotonic() - started

    assert took < 2.5, f"first retry after about 1 s, took {took:.1f}s"
    assert world.bots.subscribes(world.bot) == 2 and not link.answers(old_req)
    assert link.status().state == CONNECTED and link.status().last_error is None
    metrics = world.telemetry.render().decode()
    assert f'weworktop_aibot_link_reconnects_total{{channel="{BOT}"}} 1.0' in metrics


async def test_a_link_that_answers_nothing_is_found_dead_and_dialled_again(world, caplog):
    link = world.link()
    await eventually(link.is_up)
    world.bots.go_silent(world.bot)
    started = time.monotonic()
    await eventually(lambda: world.bots.subscribes(world.bot) == 2, timeout=5, what="redial")
    await eventually(link.is_up)
    took = time.monotonic() - started
    assert "the link is dead" in caplog.text and "nothing heard" in caplog.text
    assert took < 3 * HEARTBEAT + 2, f"a dead link noticed within a few heartbeats: {took:.1f}s"


async def test_a_refused_bot_id_is_an_action_for_the_operator_tried_once_a_minute(world, caplog):
    caplog.set_level(logging.INFO)
    link = world.link(secret="wrong-secret-value")
    await eventually(lambda: link.status().state == REFUSED, what="the refusal")
    await asyncio.sleep(1.0)
    assert world.bots.subscribes(world.bot) == 1, "no second attempt within the minute"
    assert "853000" in link.status().last_error
    log = caplog.text
    assert log.count("ACTION NEEDED") == 1 and "bot_id and secret" in log
    assert "wrong-secret-value" not in log and world.bot.secret not in log


async def test_a_refusal_once_fixed_is_noticed_at_the_next_attempt(world):
    world.bots.refuse_subscribes(1)
    link = world.link(refused_retry_seconds=0.3)
    await eventually(lambda: link.status().state == REFUSED)
    await eventually(link.is_up, what="the next attempt, accepted")
    assert world.bots.subscribes(world.bot) == 2 and link.status().last_error is None


async def test_a_bot_taken_by_another_deployment_is_not_taken_back(world, caplog):
    link = world.link()
    await eventually(link.is_up)
    await world.emulate(world.bots.take_over(world.bot))
    await eventually(lambda: link.status().state == REPLACED, what="the hand-over noticed")
    await asyncio.sleep(1.0)
    assert world.bots.subscribes(world.bot) == 1, "no reconnect loop"
    assert caplog.text.count("ACTION NEEDED") == 1 and "Another deployment" in caplog.text


async def test_one_process_holds_the_link_and_a_standby_takes_over(world):
    first, second = world.link("p1"), world.link("p2")
    await eventually(lambda: first.is_up() or second.is_up())
    await asyncio.sleep(0.6)
    holder, standby = (first, second) if first.is_up() else (second, first)
    assert standby.status().state == STANDBY and world.bots.subscribes(world.bot) == 1

    started = time.monotonic()
    await world.holders[holder].close()  # a clean stop lets go of the lease at once
    await eventually(standby.is_up, what="the standby's takeover")
    assert time.monotonic() - started < 3
    await world.say("接手之后")
    assert standby.answers(world.intake.messages[-1].req_id)


async def test_a_lease_the_store_will_not_release_is_reported_and_runs_out(world, caplog):
    first = world.link("p1")
    await eventually(first.is_up)
    second = world.link("p2")
    await asyncio.sleep(0.3)

    async def locked(name: str, owner: str) -> None:
        raise OSError("database is locked")

    world.leases.release = locked
    started = time.monotonic()
    await world.holders.pop(first).close()
    await eventually(second.is_up, timeout=5, what="the takeover")
    assert time.monotonic() - started < 3
    assert "could not let go of the bot's lease (OSError)" in caplog.text


async def test_a_standby_takes_over_from_a_holder_that_died_within_lease_seconds(world):
    first = world.link("p1")
    await eventually(first.is_up)
    second = world.link("p2")
    await asyncio.sleep(0.3)
    assert second.status().state == STANDBY
    # The holder dies without a word: its tasks stop, its lease and socket are left behind.
    for task in world.holders[first]._tasks:
        task.cancel()
    started = time.monotonic()
    await eventually(second.is_up, timeout=5, what="the takeover")
    took = time.monotonic() - started
    assert took < 3, f"lease_seconds is 3; took {took:.1f}s"


@pytest.mark.parametrize(
    "raw",
    [
        "not json at all",
        json.dumps([1, 2, 3]),
        json.dumps({"cmd": "aibot_msg_callback", "headers": {"req_id": "r"}}),
        json.dumps({"cmd": "aibot_msg_callback", "headers": {"req_id": "r"},
                    "body": {"msgtype": "text", "chattype": "single"}}),
        json.dumps({"cmd": "aibot_unheard_of", "headers": {"req_id": "r"}, "body": {}}),
        json.dumps({"cmd": "aibot_msg_callback", "body": {}}),
        "x" * (1536 * 1024),
    ],
    ids=["not-json", "array", "no-body", "missing-fields", "unknown-cmd", "no-req-id", "1.5MiB"],
)
async def test_frames_that_are_not_wecoms_are_skipped_and_the_link_stays_up(world, raw, caplog):
    link = world.link()
    await eventually(link.is_up)
    await world.emulate(world.bots.push_raw(world.bot, raw))
    await world.say("之后的消息")
    assert link.is_up() and world.bots.subscribes(world.bot) == 1
    assert "skipped a frame from WeCom" in caplog.text
    assert world.bot.secret not in caplog.text and "x" * 100 not in caplog.text


async def test_a_flood_of_frames_waits_for_the_store_instead_of_filling_memory(world):
    link = world.link()
    await eventually(link.is_up)
    world.intake.delay = 0.002  # a store slower than WeCom's pushes
    flood = 2 * INBOUND_CAPACITY + 200
    pushes = [world.bots.push_text(world.bot, "u", f"m{n}") for n in range(flood)]
    sending = asyncio.gather(*(world.emulate(push) for push in pushes))
    peak = 0
    while len(world.intake.messages) < flood:
        peak = max(peak, world.holders[link]._inbound.qsize())
        await asyncio.sleep(0.01)
    await sending
    assert peak <= INBOUND_CAPACITY
    assert [m.content for m in world.intake.messages] == [f"m{n}" for n in range(flood)]
