"""The real service (`python app.py --config …`) with an AI bot in long-connection mode, dialled
out to the WeCom emulator's WebSocket endpoint, before a streaming model stand-in: answered
once by a finished stream, also when the message comes again after a reconnect; a link that
drops mid-answer; a holder killed with kill -9 and the standby answering; a refused
subscribe; frames that are not WeCom's. The emulator checks every frame; none breaks a rule."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.standins.openai_standin import OpenAIStandIn
from tests.support.aibot_caller import grows_monotonically, stored_event_types
from tests.support.live_server import serve
from tests.support.postgres import empty_postgres_url
from tests.support.service_process import ServiceProcess, wait_until
from wecom_emulator import WeComEmulator

BOT = "aibot:team"
FAST = {"lease_seconds": 3, "sweep_seconds": 0.3, "shutdown_grace_seconds": 2}


def answer_for(body: dict) -> str:
    question = body["messages"][-1]["content"]
    return f"关于「{question}」：周会在周三上午十点举行，地点是三楼大会议室。"


class Rig:
    """The emulator, a model stand-in, and service processes sharing one store."""

    def __init__(self, wecom, ws_url, model, model_url, storage_url, tmp_path):
        self.wecom, self.bots, self.model = wecom, wecom.aibots, model
        self.bot = self.bots.add_bot("aib-team-e2e")
        self.storage_url, self.tmp_path = storage_url, tmp_path
        self.ws_url, self.model_url = ws_url, model_url
        self.services: list[ServiceProcess] = []

    def config(self, secret: str | None = None) -> dict:
        bot = {"name": "team", "mode": "websocket", "bot_id": self.bot.bot_id,
               "secret": secret or self.bot.secret, "ws_url": self.ws_url,
               "heartbeat_seconds": 1}
        return {
            "services": {"weworktop": {
                "aibots": [bot], "group_name_white_list": ["wrkGroupA"], **FAST,
            }},
            "llm": {"provider": "openai", "base_url": f"{self.model_url}/v1", "model": "s"},
            "storage": {"url": self.storage_url},
        }

    def start_service(self, secret: str | None = None) -> ServiceProcess:
        workdir = self.tmp_path / f"service{len(self.services)}"
        workdir.mkdir()
        service = ServiceProcess(self.config(secret), workdir)
        service.start()
        self.services.append(service)
        return service

    def say(
        self, content: str, user: str = "zhangsan", chat: str | None = None,
        msgid: str | None = None,
    ) -> str:
        wait_until(lambda: self.bots.connected(self.bot), what="the bot's connection")
        return self.bots.call(self.bots.push_text(self.bot, user, content, chat, msgid))

    def told(self, user: str) -> list[str]:
        """Everything the member saw as an answer: finished streams and the bot's messages."""
        return self.bots.markdown_to(user)

    def stop(self) -> None:
        for service in self.services:
            service.stop()


def link_of(service: ServiceProcess) -> dict:
    """The bot's link as the service's /readyz reports it (worked out at most every 5 s)."""
    return httpx.get(f"{service.base_url}/readyz", timeout=5).json()["channels"][BOT]


def storage(kind: str, tmp_path) -> str:
    return f"sqlite:///{tmp_path}/events.db" if kind == "sqlite" else empty_postgres_url()


@pytest.fixture
def rig(request, tmp_path):
    kind = getattr(request, "param", "sqlite")
    wecom = WeComEmulator()
    model = OpenAIStandIn(reply=answer_for, stream_delay=0.1, chunk_chars=3)
    with serve(wecom.app) as wecom_url, serve(model.app) as model_url:
        ws_url = wecom_url.replace("http://", "ws://") + "/"
        rig = Rig(wecom, ws_url, model, model_url, storage(kind, tmp_path), tmp_path)
        yield rig
        rig.stop()
        assert rig.bots.violations == []
        for service in rig.services:
            assert rig.bot.secret not in service.log()


def test_answered_once_by_a_finished_stream_also_when_delivered_again_after_a_reconnect(
    rig, tmp_path, figures
):
    service = rig.start_service()
    msgid = rig.say("周会几点？", chat="wrkGroupA")
    wait_until(lambda: rig.bots.answer(msgid) is not None, timeout=20, what="the answer")
    shown = [frame.content for frame in rig.bots.stream(msgid)]

    rig.bots.call(rig.bots.drop(rig.bot))
    wait_until(lambda: rig.bots.subscribes(rig.bot) == 2 and rig.bots.connected(rig.bot),
               timeout=10, what="the reconnect")
    rig.bots.call(rig.bots.redeliver(msgid))
    time.sleep(1.5)

    final = answer_for({"messages": [{"content": "周会几点？"}]})
    assert rig.bots.answer(msgid) == final and shown[-1] == final
    assert grows_monotonically(shown) and len(set(shown)) > 3, "the answer was seen growing"
    assert [frame.finish for frame in rig.bots.stream(msgid)].count(True) == 1
    assert len(rig.model.requests) == 1 and rig.bots.markdown_to("wrkGroupA") == []
    assert stored_event_types(tmp_path / "events.db", f"{BOT}/msg:{msgid}") == [
        "MessageReceived", "ModelUsed", "AnswerComposed", "ReplyPartSent", "ReplyDelivered",
    ]
    assert "delivered again (after a reconnect); answered once" in service.log()
    figures(f"frames={len(shown)} model requests={len(rig.model.requests)} answers=1")


def test_a_link_dropped_mid_answer_delivers_the_answer_once_when_it_is_back(rig, figures):
    rig.start_service()
    msgid = "e2e-drop-1"
    rig.bots.drop_on_frame(msgid, 4)  # the link breaks as the stream's 4th frame arrives
    rig.say("周会几点？", msgid=msgid)
    final = answer_for({"messages": [{"content": "周会几点？"}]})
    wait_until(lambda: rig.told("zhangsan") == [final], timeout=30, what="the answer")
    time.sleep(1.5)

    frames = rig.bots.stream(msgid)
    assert rig.told("zhangsan") == [final], "sent once, as the bot's own message"
    assert len(frames) == 3 and not any(frame.finish for frame in frames)
    assert len(rig.model.requests) == 1 and rig.bots.subscribes(rig.bot) == 2
    figures(f"frames before the drop={len(frames)} answers={len(rig.told('zhangsan'))}")


@pytest.mark.parametrize("rig", ["sqlite", "postgresql"], indirect=True)
def test_the_standby_answers_when_the_holder_is_killed_mid_answer(rig, figures):
    first, second = rig.start_service(), rig.start_service()
    wait_until(lambda: rig.bots.connected(rig.bot), what="a holder")
    holder, standby = (first, second) if link_of(first)["link"] == "connected" else (
        second, first,
    )
    assert link_of(standby)["link"] == "standby" and rig.bots.subscribes(rig.bot) == 1
    rig.model.delay = 3  # the holder is asking the model when it dies
    msgid = rig.say("谁来回答？")
    wait_until(lambda: len(rig.model.requests) == 1, what="the holder's model call")
    killed = time.monotonic()
    holder.kill()
    rig.model.delay = 0
    final = answer_for({"messages": [{"content": "谁来回答？"}]})
    wait_until(lambda: rig.told("zhangsan") == [final], timeout=30, what="the standby's answer")
    took = time.monotonic() - killed
    time.sleep(1.0)

    assert rig.told("zhangsan") == [final] and rig.bots.answer(msgid) is None
    wait_until(lambda: link_of(standby)["link"] == "connected", what="the standby's /readyz")
    figures(f"kill -9 to the standby's answer: {took:.1f}s (lease_seconds 3), "
            f"model requests={len(rig.model.requests)}")


def test_sigterm_hands_the_bot_to_the_standby_at_once(rig, figures):
    first, second = rig.start_service(), rig.start_service()
    wait_until(lambda: rig.bots.connected(rig.bot), what="a holder")
    holder, standby = (first, second) if link_of(first)["link"] == "connected" else (
        second, first,
    )
    started = time.monotonic()
    # Timed from the signal to the standby's connection, not to the holder's exit: what a
    # user waits for is the bot coming back.
    holder.terminate()
    # Read from WeCom's side: /readyz answers from a cache up to 5 s old.
    wait_until(lambda: rig.bots.subscribes(rig.bot) == 2 and rig.bots.connected(rig.bot),
               timeout=10, what="the takeover")
    took = time.monotonic() - started
    holder.stop()
    msgid = rig.say("还在吗？")
    wait_until(lambda: rig.bots.answer(msgid) is not None, timeout=20, what="the answer")
    assert took < 5, f"the takeover took {took:.1f}s; the holder logged:\n{holder.log()[-3000:]}"
    figures(f"SIGTERM to the standby connected: {took:.1f}s")


def test_a_refused_subscribe_is_reported_and_not_retried_in_a_loop(rig):
    service = rig.start_service(secret="not-the-bots-secret")
    wait_until(lambda: link_of(service)["link"] == "refused", what="the refusal")
    time.sleep(2)
    readyz = httpx.get(f"{service.base_url}/readyz", timeout=5)
    assert readyz.status_code == 503 and readyz.json()["channels"][BOT]["link"] == "refused"
    assert rig.bots.subscribes(rig.bot) == 1
    log = service.log()
    assert log.count("ACTION NEEDED") == 1 and "errcode 853000" in log
    assert "not-the-bots-secret" not in log


def test_frames_that_are_not_wecoms_are_skipped_and_the_bot_still_answers(rig):
    service = rig.start_service()
    wait_until(lambda: rig.bots.connected(rig.bot), what="the connection")
    for raw in ("{not json", '{"cmd": "aibot_mystery", "headers": {"req_id": "r"}}',
                '{"cmd": "aibot_msg_callback", "headers": {"req_id": "r"}, "body": {}}',
                "y" * (1100 * 1024)):
        rig.bots.call(rig.bots.push_raw(rig.bot, raw))
    msgid = rig.say("还好吗？")
    wait_until(lambda: rig.bots.answer(msgid) is not None, timeout=20, what="the answer")
    assert rig.bots.subscribes(rig.bot) == 1
    assert service.log().count("skipped a frame from WeCom") == 4
    metrics = httpx.get(f"{service.base_url}/metrics", timeout=5).text
    assert f'weworktop_aibot_frames_total{{channel="{BOT}",direction="in",kind="skipped"}} 4.0' in (
        metrics
    )
