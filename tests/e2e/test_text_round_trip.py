"""The real service, started as `python app.py --config …`, between a local WeCom stand-in
and a local OpenAI-compatible stand-in: one text conversation, end to end."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from tests.standins.openai_standin import OpenAIStandIn
from tests.support.e2e import CallbackKeys, random_key, service_config
from tests.support.live_server import serve
from tests.support.service_process import ServiceProcess, wait_until
from wecom_emulator import WeComEmulator
from wecom_emulator.callbacks import signed_callback, signed_echo, text_message_xml

USER = "zhangsan"
LONG_ANSWER = "\n\n".join(f"第{i}段。" + "这是一个很长的回答。" * 12 for i in range(9))


def reply_for(body: dict) -> str:
    question = body["messages"][-1]["content"]
    return LONG_ANSWER if question == "写长一点" else f"回答：{question}"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    wecom = WeComEmulator(known_users={USER})
    llm_key = "sk-" + random_key(24)
    model = OpenAIStandIn(reply=reply_for, api_key=llm_key)
    with serve(wecom.app) as wecom_url, serve(model.app) as model_url:
        keys = CallbackKeys()
        token, aes_key = keys.token, keys.aes_key
        config = service_config(
            wecom, wecom_url, keys, f"sqlite:///{tmp_path_factory.mktemp('db')}/events.db",
            llm={
                "provider": "openai",
                "base_url": f"{model_url}/v1",
                "api_key": llm_key,
                "model": "stand-in",
                "system_prompt": "你是测试助手",
            },
            single_chat_prefix=[""],
            conversation_max_tokens=4000,
            max_single_msg_tokens=1000,
        )
        service = ServiceProcess(config, tmp_path_factory.mktemp("service"))
        service.start()
        crypto = WeComCrypto(token, aes_key, wecom.corp_id)
        secrets_used = [wecom.corp_secret, token, aes_key, llm_key]
        yield World(service, wecom, model, crypto, secrets=secrets_used)
        service.stop()


class World:
    def __init__(self, service, wecom, model, crypto, secrets):
        self.service, self.wecom, self.model, self.crypto = service, wecom, model, crypto
        self.secrets = secrets
        self.callback_url = f"{service.base_url}/wework_callback"

    def callback(self, content: str, msg_id: int) -> tuple[dict, bytes]:
        xml = text_message_xml(
            self.wecom.corp_id, USER, content, msg_id=msg_id, agent_id=self.wecom.agent_id
        )
        return signed_callback(self.crypto, xml)

    def post(self, params: dict, body: bytes) -> httpx.Response:
        return httpx.post(self.callback_url, params=params, content=body, timeout=5)

    def replies(self) -> list[str]:
        return self.wecom.contents_for(USER)

    def wait_for_replies(self, count: int) -> list[str]:
        wait_until(lambda: len(self.replies()) >= count, timeout=15, what=f"{count} replies")
        return self.replies()


def test_wecom_can_verify_the_callback_url(world):
    params = signed_echo(world.crypto, "echo-1234567890")
    response = httpx.get(world.callback_url, params=params, timeout=5)
    assert response.status_code == 200
    assert response.content == b"echo-1234567890"


def test_a_message_gets_one_reply_and_its_retries_none(world):
    params, body = world.callback("你好", msg_id=1001)
    started = time.monotonic()
    response = world.post(params, body)
    assert (response.status_code, response.content) == (200, b"")
    assert time.monotonic() - started < 1.0
    assert world.wait_for_replies(1) == ["回答：你好"]
    for _ in range(3):  # WeCom's retries of the same callback
        assert world.post(params, body).status_code == 200
    time.sleep(0.5)
    assert world.replies() == ["回答：你好"]
    assert len(world.model.requests) == 1


def test_the_next_prompt_carries_the_history(world):
    world.post(*world.callback("我叫什么？", msg_id=1002))
    world.wait_for_replies(2)
    messages = world.model.requests[-1]["messages"]
    assert messages == [
        {"role": "system", "content": "你是测试助手"},
        {"role": "user", "content": "你好"},
        {"role": "assistant", "content": "回答：你好"},
        {"role": "user", "content": "我叫什么？"},
    ]


def test_after_a_restart_history_dedup_and_token_survive(world):
    world.service.stop()
    world.service.start()
    assert world.post(*world.callback("我叫什么？", msg_id=1002)).status_code == 200
    world.post(*world.callback("还记得吗？", msg_id=1003))
    replies = world.wait_for_replies(3)
    time.sleep(0.3)
    assert world.replies() == replies == ["回答：你好", "回答：我叫什么？", "回答：还记得吗？"]
    assert [m["content"] for m in world.model.requests[-1]["messages"]][1:] == [
        "你好", "回答：你好", "我叫什么？", "回答：我叫什么？", "还记得吗？",
    ]
    assert world.wecom.gettoken_calls == 1


def test_an_expired_token_is_refreshed_once_and_the_reply_arrives(world):
    world.wecom.expire_tokens()
    before = world.wecom.gettoken_calls
    world.post(*world.callback("令牌过期了吗？", msg_id=1004))
    assert world.wait_for_replies(4)[-1] == "回答：令牌过期了吗？"
    assert world.wecom.gettoken_calls == before + 1


def test_a_long_answer_arrives_as_ordered_parts_that_join_back(world):
    assert len(LONG_ANSWER.encode()) > 3000
    before = len(world.replies())
    world.post(*world.callback("写长一点", msg_id=1005))
    wait_until(
        lambda: "".join(world.replies()[before:]) == LONG_ANSWER, timeout=15, what="long answer"
    )
    parts = world.replies()[before:]
    assert len(parts) == 2
    assert all(len(part.encode()) <= 2048 for part in parts)


def test_bad_callbacks_are_refused_without_a_reply(world):
    params, body = world.callback("伪造", msg_id=1006)
    forged = {**params, "msg_signature": "0" * 40}
    assert world.post(forged, body).status_code == 403
    missing = {k: v for k, v in params.items() if k != "nonce"}
    assert world.post(missing, body).status_code == 400
    assert world.post(params, b"<xml><Encrypt>!!!</Encrypt></xml>").status_code in (400, 403)
    assert world.post(params, b"not xml").status_code == 400
    time.sleep(0.3)
    assert "伪造" not in "".join(world.replies())
    assert "refused with 403" in world.service.log()


def test_no_secret_appears_in_the_log(world):
    log = world.service.log()
    assert "weworktop ready" in log
    leaked = [s for s in world.secrets + world.wecom.issued_tokens if s in log]
    assert leaked == []


def scrape(world) -> dict[tuple[str, tuple], float]:
    text = httpx.get(f"{world.service.base_url}/metrics", timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_move_as_messages_flow_and_readiness_reports_the_token(world, figures):
    before = scrape(world)
    world.post(*world.callback("指标测试", msg_id=1100))
    wait_until(lambda: "回答：指标测试" in world.replies(), what="the reply")
    after = scrape(world)

    def moved(name, **labels):
        key = (name, tuple(sorted({"channel": "app:default", **labels}.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert moved("weworktop_callbacks_total", outcome="accepted") == 1
    assert moved("weworktop_callback_ack_seconds_count") == 1
    assert moved("weworktop_model_call_seconds_count", outcome="ok") == 1
    assert moved("weworktop_wecom_api_calls_total", endpoint="message/send", errcode="0") == 1
    ready = httpx.get(f"{world.service.base_url}/readyz", timeout=5)
    assert ready.status_code == 200 and ready.json()["wecom"]["token"] == "valid"
    assert ready.json()["channels"]["app:default"]["token"] == "valid"
    figures(
        "metrics moved: callbacks accepted +1, model calls +1, message/send +1; "
        f"readyz token expires_in={ready.json()['wecom']['expires_in']}s"
    )
