"""Exactly one reply per accepted message through crashes, WeCom outages and two instances,
on SQLite and on PostgreSQL. Each test reports its figures at the end of the run."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from tests.standins.openai_standin import OpenAIStandIn
from tests.support.e2e import CallbackKeys, WeComSender, service_config
from tests.support.live_server import serve
from tests.support.postgres import empty_postgres_url
from tests.support.service_process import ServiceProcess, wait_until
from wecom_emulator import GETTOKEN, SEND, WeComEmulator

FAST = {"lease_seconds": 2, "sweep_seconds": 0.3, "shutdown_grace_seconds": 2}
TWO_PARTS = "\n\n".join(f"第{i}段。" + "很长的回答内容。" * 20 for i in range(8))
SECOND_PART_MARKER = "第7段"


def answer(body: dict) -> str:
    question = body["messages"][-1]["content"]
    return TWO_PARTS if question == "长回答" else f"回答：{question}"


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/events.db"
    return empty_postgres_url()


class Rig:
    """Stand-ins for WeCom and the model, and service processes between them."""

    def __init__(self, wecom, wecom_url, model, model_url, storage_url, tmp_path):
        self.wecom, self.model = wecom, model
        self.keys = CallbackKeys()
        self.sender = WeComSender(wecom, self.keys)
        self._config = service_config(
            wecom, wecom_url, self.keys, storage_url,
            llm={"provider": "openai", "base_url": f"{model_url}/v1", "model": "stand-in"},
            **FAST,
        )
        self._tmp_path = tmp_path
        self.services: list[ServiceProcess] = []

    def start_service(self) -> ServiceProcess:
        workdir = self._tmp_path / f"service{len(self.services)}"
        workdir.mkdir()
        config = {**self._config, "services": {
            "weworktop": dict(self._config["services"]["weworktop"])
        }}
        service = ServiceProcess(config, workdir)
        service.start()
        self.services.append(service)
        return service

    def replies(self) -> list[str]:
        return [m.content for m in self.wecom.sent]

    def stop(self) -> None:
        for service in self.services:
            service.stop()


@pytest.fixture
def rig(storage_url, tmp_path):
    wecom = WeComEmulator()
    model = OpenAIStandIn(reply=answer)
    with serve(wecom.app) as wecom_url, serve(model.app) as model_url:
        rig = Rig(wecom, wecom_url, model, model_url, storage_url, tmp_path)
        yield rig
        rig.stop()


def test_a_crash_during_the_model_call_still_gets_one_answer(rig, figures):
    service = rig.start_service()
    rig.model.delay = 5
    rig.sender.post(service.base_url, *rig.sender.callback("alice", "你好", 1))
    wait_until(lambda: len(rig.model.requests) == 1, what="the model call")
    service.kill()
    rig.model.delay = 0
    service.start()
    wait_until(lambda: rig.replies() == ["回答：你好"], what="the answer after restart")
    time.sleep(0.5)
    assert rig.replies() == ["回答：你好"]
    figures(f"replies={len(rig.replies())} model calls={len(rig.model.requests)}")


def test_a_crash_after_composing_sends_without_asking_the_model_again(rig, figures):
    service = rig.start_service()
    rig.sender.post(service.base_url, *rig.sender.callback("alice", "第一句", 1))
    wait_until(lambda: len(rig.replies()) == 1, what="the first answer")
    rig.wecom.expire_tokens()  # the next send needs a new token...
    rig.wecom.stall_next(GETTOKEN, 5)  # ...whose fetch hangs: composed, not sent
    rig.sender.post(service.base_url, *rig.sender.callback("alice", "第二句", 2))
    wait_until(lambda: rig.wecom.gettoken_calls == 2, what="the stalled token fetch")
    service.kill()
    service.start()
    wait_until(lambda: len(rig.replies()) == 2, what="the composed answer after restart")
    time.sleep(0.5)
    assert rig.replies() == ["回答：第一句", "回答：第二句"]
    assert len(rig.model.requests) == 2
    figures(f"replies={len(rig.replies())} model calls={len(rig.model.requests)}")


def test_a_crash_between_parts_sends_only_the_missing_part(rig, figures):
    service = rig.start_service()
    rig.wecom.refuse_content(SECOND_PART_MARKER)  # WeCom takes part 1, fails on part 2
    rig.sender.post(service.base_url, *rig.sender.callback("alice", "长回答", 1))
    wait_until(lambda: rig.wecom.send_attempts >= 2, what="the failing second part")
    service.kill()
    rig.wecom.refuse_content(None)
    service.start()
    wait_until(lambda: "".join(rig.replies()) == TWO_PARTS, timeout=20, what="both parts")
    time.sleep(0.5)
    parts = rig.replies()
    assert len(parts) == 2 and SECOND_PART_MARKER in parts[1]
    assert len(rig.model.requests) == 1
    figures(f"parts sent={len(parts)} of 2, model calls={len(rig.model.requests)}")


def test_two_instances_with_retries_a_kill_and_an_outage_give_exactly_one_reply_each(rig, figures):
    first, second = rig.start_service(), rig.start_service()
    urls = [first.base_url, second.base_url]
    messages = [(f"user{i % 7}", f"问题{i}", 1000 + i) for i in range(24)]
    rig.wecom.fail_next(SEND, 45009, times=2)  # a rate limit early on
    rig.wecom.fail_next_http(SEND, 502, times=2)  # and a bad gateway

    def send(batch):
        for n, (user, content, msg_id) in batch:
            params, body = rig.sender.callback(user, content, msg_id)
            order = urls if n % 2 else urls[::-1]
            assert rig.sender.post_each(order + order, params, body) >= 1  # + 3 retries

    send(list(enumerate(messages[:12])))
    wait_until(lambda: len(rig.replies()) == 12, timeout=30, what="the first half")
    rig.wecom.refuse_content("回答", status=503)  # WeCom goes down: nothing is taken
    send(list(enumerate(messages[12:18], start=12)))
    wait_until(lambda: len(rig.model.requests) >= 18, what="answers composed in the outage")
    first.kill()
    rig.wecom.refuse_content(None)  # WeCom comes back
    send(list(enumerate(messages[18:], start=18)))  # the dead instance is skipped
    wait_until(lambda: len(rig.replies()) >= 24, timeout=60, what="every reply")
    time.sleep(1.0)

    replies = Counter(rig.replies())
    expected = {f"回答：{content}" for _, content, _ in messages}
    duplicates = sum(count - 1 for count in replies.values())
    lost = len(expected - set(replies))
    figures(
        f"messages={len(messages)} callbacks={len(messages) * 4} "
        f"replies={sum(replies.values())} duplicates={duplicates} lost={lost} "
        f"gettoken={rig.wecom.gettoken_calls}"
    )
    assert set(replies) == expected
    assert duplicates == 0 and lost == 0
    assert rig.wecom.gettoken_calls == 1
    for user in {user for user, _, _ in messages}:
        said = [m.content for m in rig.wecom.sent if m.touser == user]
        asked = [f"回答：{c}" for u, c, _ in messages if u == user]
        assert said == asked, f"{user}'s replies are out of order"


def test_an_untrusted_ip_is_reported_once_in_plain_words(rig, figures):
    service = rig.start_service()
    rig.wecom.fail_next(SEND, 60020, times=3)
    for n in range(3):
        rig.sender.post(service.base_url, *rig.sender.callback(f"user{n}", f"m{n}", n))
    wait_until(lambda: rig.wecom.send_attempts >= 3, what="three refused sends")
    wait_until(lambda: service.log().count("not delivered (errcode 60020") == 3, what="log")
    log = service.log()
    figures(f"refused=3 operator alerts={log.count('ACTION NEEDED')}")
    assert log.count("ACTION NEEDED") == 1
    assert log.count("add this server's IP to the app's trusted IPs") == 1
    assert rig.replies() == []


def test_sigterm_hands_in_flight_work_back_within_the_grace_period(rig, figures):
    service = rig.start_service()
    rig.model.delay = 5  # longer than the 2 s grace period
    rig.sender.post(service.base_url, *rig.sender.callback("alice", "慢问题", 1))
    wait_until(lambda: len(rig.model.requests) == 1, what="the model call")
    started = time.monotonic()
    service.stop()
    took = time.monotonic() - started
    rig.model.delay = 0
    service.start()
    wait_until(lambda: rig.replies() == ["回答：慢问题"], what="the answer after restart")
    figures(f"SIGTERM exit took {took:.1f}s (grace 2s), replies after restart=1")
    assert took < 6
    assert "handed back 1 conversations at shutdown" in service.log()
