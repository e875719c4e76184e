"""Clocks that are wrong (issue 17, findings 8 and 9), played by the test-only
WEWORKTOP_CLOCK_OFFSET_SECONDS: the real service, the WeCom emulator and the model stand-in
as separate servers, the counts asserted and reported."""

from __future__ import annotations

import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest

from infrastructure.clock_source import CLOCK_OFFSET_ENV
from tests.standins.openai_standin import OpenAIStandIn, text_of
from tests.support.e2e import CallbackKeys, WeComSender, service_config
from tests.support.live_server import serve
from tests.support.postgres import empty_postgres_url
from tests.support.service_process import ServiceProcess, wait_until
from wecom_emulator import WeComEmulator

# Leases far shorter than the 60 s skew, yet long enough that a loaded machine's stalls do not
# let them run out while held (with 2 s, a stall on a busy 2-core machine did, once).
FAST = {"lease_seconds": 8, "sweep_seconds": 0.3, "shutdown_grace_seconds": 2}
# About 600 s: WeCom's timestamps are whole seconds, and a callback takes a moment to arrive.
SLOW_CLOCK = re.compile(r"ACTION NEEDED: this server's clock is (59\d|600) s behind WeCom's")


def answer(body: dict) -> str:
    return f"回答：{text_of(body['messages'][-1])}"


@dataclass
class World:
    """WeCom and the model, served; the app's callback keys, shared by its instances."""

    wecom: WeComEmulator
    wecom_url: str
    model: OpenAIStandIn
    model_url: str
    keys: CallbackKeys = field(default_factory=CallbackKeys)

    def start(self, storage_url: str, workdir, offset: float | None = None) -> ServiceProcess:
        """A service process; `offset`: its clock's, through WEWORKTOP_CLOCK_OFFSET_SECONDS."""
        config = service_config(
            self.wecom, self.wecom_url, self.keys, storage_url,
            llm={"provider": "openai", "base_url": f"{self.model_url}/v1", "model": "stand-in"},
            **FAST,
        )
        workdir.mkdir()
        env = {} if offset is None else {CLOCK_OFFSET_ENV: str(offset)}
        service = ServiceProcess(config, workdir, env=env)
        service.start()
        return service


@pytest.fixture
def world():
    wecom, model = WeComEmulator(), OpenAIStandIn(reply=answer)
    with serve(wecom.app) as wecom_url, serve(model.app) as model_url:
        yield World(wecom, wecom_url, model, model_url)


def test_two_instances_one_a_minute_ahead_answer_each_message_once(world, tmp_path, figures):
    """Finding 8: with one instance's clock 60 s ahead, leases judged by each host's clock let
    it take over conversations the other was answering. Leases now run on the database's
    clock."""
    wecom, model = world.wecom, world.model
    model.delay = 0.3  # answers take a while, so the two instances' work overlaps
    url = empty_postgres_url()
    right = world.start(url, tmp_path / "right")
    ahead = world.start(url, tmp_path / "ahead", offset=60)
    sender = WeComSender(wecom, world.keys)
    messages = [(f"user{i % 10}", f"问题{i}", 5000 + i) for i in range(60)]
    urls = [right.base_url, ahead.base_url]

    def deliver(item):
        n, (user, content, msg_id) = item
        params, body = sender.callback(user, content, msg_id)
        # WeCom's original and its retry may reach either instance, in either order.
        return sender.post_each(urls if n % 2 else urls[::-1], params, body)

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            acknowledged = list(pool.map(deliver, enumerate(messages)))
        wait_until(lambda: len(wecom.sent) >= len(messages), timeout=90, what="every answer")
        time.sleep(FAST["lease_seconds"])  # time for a stolen lease to show as a repeat
    finally:
        right.stop()
        ahead.stop()

    replies = Counter(m.content for m in wecom.sent)
    asked = Counter(text_of(r["messages"][-1]) for r in model.requests)
    duplicates = sum(count - 1 for count in replies.values())
    extra_calls = len(model.requests) - len(messages)
    lost = len({f"回答：{content}" for _, content, _ in messages} - set(replies))
    figures(
        f"messages={len(messages)} callbacks={2 * len(messages)} replies={len(wecom.sent)} "
        f"duplicates={duplicates} lost={lost} model calls={len(model.requests)} "
        f"extra model calls={extra_calls} gettoken={wecom.gettoken_calls}"
    )
    assert all(count == 2 for count in acknowledged)
    assert duplicates == 0 and lost == 0
    assert extra_calls == 0 and set(asked.values()) == {1}
    assert wecom.gettoken_calls == 1
    for user in {user for user, _, _ in messages}:
        said = [m.content for m in wecom.sent if m.touser == user]
        assert said == [f"回答：{c}" for u, c, _ in messages if u == user], f"{user}'s order"
    assert ahead.log().count(f"TEST ONLY: {CLOCK_OFFSET_ENV}=60") == 1
    assert "TEST ONLY" not in right.log()


def test_a_slow_clock_is_reported_once_and_callbacks_pass_once_it_is_right(
    world, tmp_path, figures
):
    """Finding 9: ten minutes slow, every callback is refused (a replay must not pass), but
    the pattern is said once in the log and in /readyz; restarted with the clock right,
    everything is accepted and answered."""
    wecom, model = world.wecom, world.model
    service = world.start(f"sqlite:///{tmp_path}/events.db", tmp_path / "svc", offset=-600)
    sender = WeComSender(wecom, world.keys)
    try:
        assert httpx.get(f"{service.base_url}/readyz").status_code == 200
        refused = []
        for n in range(5):
            params, body = sender.callback(f"user{n}", f"慢钟{n}", 7000 + n)
            # WeCom's original and its three retries.
            refused += [sender.post(service.base_url, params, body).status_code for _ in range(4)]
        wait_until(lambda: SLOW_CLOCK.search(service.log()), what="the ACTION NEEDED line")
        # /readyz is worked out at most every 5 s: the answer from before may stand till then.
        wait_until(
            lambda: httpx.get(f"{service.base_url}/readyz").status_code == 503,
            what="/readyz to say not ready",
        )
        not_ready = httpx.get(f"{service.base_url}/readyz")
        log_while_slow = service.log()

        service.stop()
        service.env = {}  # the clock set right
        service.start()
        accepted = []
        for n in range(5):
            params, body = sender.callback(f"user{n}", f"准钟{n}", 8000 + n)
            accepted.append(sender.post(service.base_url, params, body).status_code)
        wait_until(
            lambda: len(wecom.sent) >= 5, timeout=30, what="the answers once the clock is right"
        )
        ready = httpx.get(f"{service.base_url}/readyz")
        log = service.log()
    finally:
        service.stop()

    figures(
        f"while slow: callbacks={len(refused)} refused_403={refused.count(403)} "
        f"ACTION NEEDED lines={log_while_slow.count('ACTION NEEDED')} "
        f"readyz={not_ready.status_code}; clock right: accepted={accepted.count(200)}/5 "
        f"answered={len(wecom.sent)} readyz={ready.status_code}"
    )
    assert refused == [403] * 20
    assert log_while_slow.count("ACTION NEEDED") == 1
    assert log_while_slow.count(f"TEST ONLY: {CLOCK_OFFSET_ENV}=-600") == 1
    assert not_ready.status_code == 503
    assert not_ready.json()["status"] == "not ready"
    assert SLOW_CLOCK.match(not_ready.json()["clock"])
    assert accepted == [200] * 5
    assert sorted(m.content for m in wecom.sent) == sorted(f"回答：准钟{n}" for n in range(5))
    assert len(model.requests) == 5  # nothing of the refused ones was recorded or answered
    assert ready.status_code == 200 and "clock" not in ready.json()
    assert log.count("ACTION NEEDED") == 1  # the log file spans both runs
