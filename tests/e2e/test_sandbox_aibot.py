"""The sandbox's AI bot in long-connection mode, as a person tries it: the service dials out to
the emulator's WebSocket endpoint, a member's message goes over it, and the bot's answer is
one bubble that grows frame by frame until it is finished."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.sandbox_process import SandboxProcess
from tests.support.service_process import wait_until

LIVE = "aibot:live"
WHITELISTED = "group:wrkNankaiKnowledge"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    process = SandboxProcess(tmp_path_factory.mktemp("sandbox-live"))
    process.start()
    yield process
    process.stop()


def link_state(sandbox) -> str:
    headers = {"Authorization": f"Bearer {sandbox.admin_token}"}
    ready = httpx.get(f"{sandbox.service_url}/readyz", headers=headers, timeout=5).json()
    return ready["channels"][LIVE]["link"]


def test_a_question_to_the_bot_is_answered_by_one_bubble_that_grows(sandbox, figures):
    wait_until(lambda: link_state(sandbox) == "connected", what="the bot's link")
    chat = f"{LIVE}/private:zhangsan"
    mine = sandbox.send("zhangsan", chat, "机器人你好")
    final = "（离线模型）你说：机器人你好\n我记得之前的 0 条消息。"
    seen: list[str] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and final not in seen:
        for reply in sandbox.replies(chat)[-1:]:
            if reply["text"] not in seen:
                seen.append(reply["text"])
        time.sleep(0.01)

    [reply] = sandbox.replies(chat)
    assert reply["text"] == final
    assert sandbox.settled(mine["id"])["status"] == "answered"
    growing = [text for text in seen if text != final]
    assert growing, "the answer was seen half written before it was finished"
    assert all(b.startswith(a) for a, b in zip(seen, [*seen[1:], final], strict=False))
    figures(f"the page saw the bot's bubble in {len(seen)} states")


def test_in_a_group_the_bot_needs_a_mention(sandbox):
    wait_until(lambda: link_state(sandbox) == "connected", what="the bot's link")
    group = f"{LIVE}/{WHITELISTED}"
    unmentioned = sandbox.send("lisi", group, "周会几点？")
    mentioned = sandbox.send("lisi", group, "@长连接助手 周会几点？")
    assert sandbox.settled(mentioned["id"])["status"] == "answered"
    wait_until(lambda: sandbox.replies(group), what="the answer in the group")
    assert sandbox.replies(group)[0]["text"].startswith("（离线模型）你说：周会几点？")
    assert sandbox.bubble(unmentioned["id"])["status"] == "undelivered"
