"""The emulator's long-connection endpoint as a bare `websockets` client meets it: it answers
as WeCom's SDK expects, and refuses (and records) every frame WeCom would not take, so the
adapter's tests can trust an empty list of violations."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from tests.support.live_server import serve
from wecom_emulator import WeComEmulator


def frame(cmd: str, req_id: str, body: dict | None = None) -> str:
    raw = {"cmd": cmd, "headers": {"req_id": req_id}}
    return json.dumps(raw if body is None else {**raw, "body": body})


def stream(content: str, finish: bool, feedback: str | None = None) -> dict:
    body = {"msgtype": "stream", "stream": {"id": "S1", "finish": finish, "content": content}}
    if feedback:
        body["stream"]["feedback"] = {"id": feedback}
    return body


@pytest.fixture
def wecom():
    wecom = WeComEmulator()
    with serve(wecom.app) as base_url:
        wecom.ws_url = base_url.replace("http://", "ws://") + "/"
        yield wecom


async def subscribed(wecom, bot):
    ws = await connect(wecom.ws_url)
    await ws.send(frame("aibot_subscribe", "sub-1", {"bot_id": bot.bot_id, "secret": bot.secret}))
    assert json.loads(await ws.recv()) == {"headers": {"req_id": "sub-1"}, "errcode": 0,
                                           "errmsg": "ok"}
    return ws


async def test_a_wrong_secret_is_refused_with_853000_and_closed(wecom):
    bot = wecom.aibots.add_bot()
    async with connect(wecom.ws_url) as ws:
        await ws.send(frame("aibot_subscribe", "sub-1", {"bot_id": bot.bot_id, "secret": "nope"}))
        refusal = json.loads(await ws.recv())
        assert refusal["errcode"] == 853000 and refusal["headers"]["req_id"] == "sub-1"
        await ws.wait_closed()


async def test_answers_are_checked_as_wecom_checks_them(wecom):
    bots = wecom.aibots
    bot = bots.add_bot()
    ws = await subscribed(wecom, bot)
    push = asyncio.wrap_future(bots.submit(bots.push_text(bot, "zhangsan", "你好")))
    msgid, pushed = await push, json.loads(await ws.recv())
    assert pushed["cmd"] == "aibot_msg_callback" and pushed["body"]["msgid"] == msgid
    req_id = pushed["headers"]["req_id"]

    async def answer(cmd: str, req: str, body: dict) -> int:
        await ws.send(frame(cmd, req, body))
        return json.loads(await ws.recv())["errcode"]

    assert await answer("aibot_respond_msg", req_id, stream("你", False, feedback=msgid)) == 0
    assert await answer("aibot_respond_msg", req_id, stream("你好", False, feedback=msgid)) != 0
    assert await answer("aibot_respond_msg", "someone-elses", stream("x", True)) != 0
    assert await answer("aibot_respond_msg", req_id, stream("你好！" * 7000, True)) != 0
    assert await answer("aibot_respond_msg", req_id, stream("你好！", True)) == 0
    assert await answer("aibot_respond_msg", req_id, stream("又一帧", False)) != 0
    assert await answer("aibot_send_msg", "s-1", {"chatid": "zhangsan", "msgtype": "text"}) != 0
    assert await answer("aibot_respond_welcome_msg", req_id,
                        {"msgtype": "text", "text": {"content": "欢迎"}}) != 0
    await ws.send(frame("ping", "ping-1"))
    assert json.loads(await ws.recv()) == {"headers": {"req_id": "ping-1"}, "errcode": 0,
                                           "errmsg": "ok"}
    await ws.close()

    assert bots.answer("S1") == "你好！"
    assert len(bots.violations) == 6
    assert any("feedback id on a stream frame other than the first" in v for v in bots.violations)
    assert any("after its finish" in v for v in bots.violations)


async def test_a_newer_subscribe_takes_the_bot_and_the_older_hears_why(wecom):
    bot = wecom.aibots.add_bot()
    older = await subscribed(wecom, bot)
    newer = await subscribed(wecom, bot)
    notice = json.loads(await older.recv())
    assert notice["cmd"] == "aibot_event_callback"
    assert notice["body"]["event"]["eventtype"] == "disconnected_event"
    await older.wait_closed()
    await newer.close()
    assert wecom.aibots.subscribes(bot) == 2


async def test_a_second_frame_before_the_first_ack_is_a_violation(wecom):
    bots = wecom.aibots
    bots.ack_delay = 0.2
    bot = bots.add_bot()
    ws = await subscribed(wecom, bot)
    await asyncio.wrap_future(bots.submit(bots.push_text(bot, "zhangsan", "你好")))
    req_id = json.loads(await ws.recv())["headers"]["req_id"]
    await ws.send(frame("aibot_respond_msg", req_id, stream("一", False)))
    await ws.send(frame("aibot_respond_msg", req_id, stream("一二", False)))
    await asyncio.sleep(0.5)
    await ws.close()
    assert bots.violations == [
        "aibot_respond_msg for a req_id whose last frame is not acknowledged yet"
    ]
