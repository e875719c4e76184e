"""A store outage loses nothing and repeats nothing: PostgreSQL stopped and started by the
test (a cluster of its own) under WeCom's traffic and retry schedule, and WeCom taking a part
while the store cannot record it. Each test reports its figures at the end of the run."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx
import pytest

from application.pipeline.delivery_records import RETRY_SECONDS
from tests.standins.openai_standin import OpenAIStandIn
from tests.support.aibot_signing import AiBotPeer, text_payload
from tests.support.e2e import CallbackKeys, WeComSender, random_key, service_config
from tests.support.live_server import serve
from tests.support.private_postgres import private_cluster
from tests.support.service_process import ServiceProcess, wait_until
from tests.support.wecom_traffic import WeComTraffic
from wecom_emulator import WeComEmulator

FAST = {"lease_seconds": 2, "sweep_seconds": 0.3, "shutdown_grace_seconds": 2}
MARKER = "机密"  # in every member's text: never in the service's log
RESPONSE_CODE = "RESPONSECODE"  # in every AI bot response_url: never in the log either


def answer(body: dict) -> str:
    return f"回答：{body['messages'][-1]['content']}"


class ReadinessPoller:
    """Polls /readyz twice a second in a thread: (seconds since start, HTTP status, status)."""

    def __init__(self, base_url: str):
        self._url = f"{base_url}/readyz"
        self.seen: list[tuple[float, int, str]] = []
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def now(self) -> float:
        return time.monotonic() - self._started

    def between(self, start: float, end: float) -> list[tuple[int, str]]:
        return [(code, status) for t, code, status in self.seen if start <= t < end]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            try:
                response = httpx.get(self._url, timeout=5)
                status = response.json().get("status", "?")
            except (httpx.HTTPError, ValueError):
                continue
            self.seen.append((self.now(), response.status_code, status))


@pytest.fixture
def world(tmp_path):
    wecom = WeComEmulator()
    model = OpenAIStandIn(reply=answer)
    with private_cluster() as cluster, serve(wecom.app) as wecom_url, serve(
        model.app
    ) as model_url:
        keys = CallbackKeys()
        bot_token, bot_key = random_key(32), random_key(43)
        config = service_config(
            wecom, wecom_url, keys, cluster.url,
            llm={"provider": "openai", "base_url": f"{model_url}/v1", "model": "stand-in"},
            aibot={"enabled": True, "token": bot_token, "aes_key": bot_key},
            **FAST,
        )
        service = ServiceProcess(config, tmp_path)
        service.start()
        yield cluster, wecom, model, service, WeComSender(wecom, keys), AiBotPeer(
            bot_token, bot_key
        ), wecom_url
        service.stop()


def non_info_lines(log: str) -> list[str]:
    """Every line but INFO ones: warnings, errors and each line of a traceback."""
    return [line for line in log.splitlines() if " INFO " not in line]


def test_a_postgresql_stop_under_traffic_loses_and_repeats_nothing(world, figures):
    cluster, wecom, model, service, sender, bot, wecom_url = world
    traffic = WeComTraffic(sender, service.base_url, rate=20, members=100, marker=MARKER)
    readiness = ReadinessPoller(service.base_url)
    # ~20 messages a second outgrow what a busy two-core machine answers (~7 a second), so
    # the outage is kept short enough for the backlog to clear within the test's bounds.
    before_outage, outage_seconds, after = 2.0, 15.0, 2.0
    traffic.start(before_outage + outage_seconds + after)
    time.sleep(before_outage)

    stopped_at = readiness.now()
    cluster.stop()
    time.sleep(outage_seconds / 2)
    bot_url = f"{service.base_url}/wework_aibot"
    for n in range(5):  # AI bot messages, each with its response_url, taken by the spool too
        url = f"{wecom_url}/cgi-bin/aibot/response?response_code={RESPONSE_CODE}{n}"
        payload = text_payload(f"BOT-{n}", f"{MARKER}机器人问题{n}", response_url=url)
        params, body = bot.signed(payload)
        assert httpx.post(bot_url, params=params, content=body, timeout=10).status_code == 200
    time.sleep(outage_seconds / 2)
    cluster.start()
    started_at = readiness.now()
    recovery_began = time.monotonic()

    traffic.wait(timeout=60)
    acknowledged = traffic.acknowledged()
    expected = Counter(f"回答：{o.content}" for o in acknowledged)
    wait_until(
        lambda: len(wecom.sent) >= len(acknowledged), timeout=150, what="an answer to each"
    )
    cleared = time.monotonic() - recovery_began
    time.sleep(1.0)
    readiness_after = readiness.now()
    wait_until(lambda: readiness.between(readiness_after, 1e9)[-1:] == [(200, "ready")],
               timeout=15, what="ready again")
    readiness.stop()

    answered = Counter(m.content for m in wecom.sent)
    duplicates = sum(n - 1 for n in answered.values() if n > 1)
    missing = sum((expected - answered).values())
    log = service.log()
    noisy = non_info_lines(log)
    during = readiness.between(stopped_at + 6, started_at)  # /readyz is cached up to 5 s
    figures(
        f"sent={len(traffic.outcomes)} acknowledged={len(acknowledged)} "
        f"given up by WeCom={len(traffic.given_up())} statuses={traffic.statuses} "
        f"answered={sum(answered.values())} duplicates={duplicates} missing={missing} "
        f"outage={outage_seconds:.0f}s backlog cleared {cleared:.1f}s after the restart; "
        f"non-INFO log lines={len(noisy)}; /readyz during the outage={Counter(during)}"
    )
    assert not traffic.given_up() and len(acknowledged) == len(traffic.outcomes)
    assert duplicates == 0 and missing == 0
    assert set(answered) <= set(expected)
    assert all(code != 500 for _, code, _ in readiness.seen)
    assert readiness.between(0, stopped_at)[-1] == (200, "ready")
    assert during and set(during) == {(200, "degraded")}
    assert MARKER not in log and RESPONSE_CODE not in log
    assert "Task exception was never retrieved" not in log
    assert len(noisy) < 50, "\n".join(noisy)


TWO_PARTS = "\n\n".join(f"第{i}段。" + "很长的回答内容。" * 20 for i in range(8))


def test_a_part_wecom_took_while_the_store_went_down_is_not_sent_again(tmp_path, figures):
    """WeCom takes the first part of a two-part answer, and the store stops before WeCom's
    answer reaches the service (the emulator stops it while taking the part): the record of
    that part must fail. After the restart only the second part is sent. Ten runs."""
    runs, taken = 10, []
    with private_cluster() as cluster:

        def on_delivery(sent) -> None:
            if sent.content.startswith("第0段"):
                taken.append(time.monotonic())
                cluster.stop()

        wecom = WeComEmulator(on_delivery=on_delivery)
        model = OpenAIStandIn(reply=lambda body: TWO_PARTS)
        with serve(wecom.app) as wecom_url, serve(model.app) as model_url:
            keys = CallbackKeys()
            config = service_config(
                wecom, wecom_url, keys, cluster.url,
                llm={"provider": "openai", "base_url": f"{model_url}/v1", "model": "stand-in"},
                **FAST,
            )
            service = ServiceProcess(config, tmp_path)
            service.start()
            sender = WeComSender(wecom, keys)
            try:
                for run in range(runs):
                    params, body = sender.callback(f"member{run}", f"长问题{run}", 700 + run)
                    assert sender.post(service.base_url, params, body).status_code == 200
                    wait_until(lambda n=run + 1: len(taken) == n, timeout=30, what="part 1 taken")
                    # Down past the append's retries (3 s): the fact is held, not recorded.
                    time.sleep(RETRY_SECONDS + 0.5)
                    cluster.start()
                    wait_until(lambda n=2 * (run + 1): len(wecom.sent) == n, timeout=30,
                               what=f"part 2 of run {run + 1}")
                time.sleep(1.0)
            finally:
                service.stop()
    parts = Counter((m.touser, m.content[:3]) for m in wecom.sent)
    figures(f"runs={runs} parts sent={len(wecom.sent)} (expected {2 * runs}), "
            f"sent more than once={sum(1 for n in parts.values() if n > 1)}")
    assert len(wecom.sent) == 2 * runs and set(parts.values()) == {1}
