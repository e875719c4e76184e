"""Two self-built apps and an AI bot in one deployment, served by two real service processes
(`python app.py --config …`) on one store, SQLite or PostgreSQL, in front of the WeCom
emulator (which knows both apps, each with its own Secret and tokens) and the OpenAI stand-in.
Each app has its own keys, path, rules, welcome, model and system prompt; every test checks
what a member or an operator would see."""

from __future__ import annotations

import copy
import secrets
import time

import httpx
import pytest

from tests.standins.openai_standin import OpenAIStandIn
from tests.support.aibot_caller import AiBotCaller
from tests.support.aibot_signing import AiBotPeer, text_payload
from tests.support.e2e import CallbackKeys, WeComSender
from tests.support.live_server import serve
from tests.support.postgres import empty_postgres_url
from tests.support.service_process import ServiceProcess, wait_until
from wecom_emulator import GETTOKEN, WeComEmulator

HR_AGENT, IT_AGENT = 1000002, 1000003
HR_PROMPT, IT_PROMPT, BOT_PROMPT = "你是人事助手。", "你是 IT 帮手。", "你是团队机器人。"
FAST = {"lease_seconds": 2, "sweep_seconds": 0.3, "shutdown_grace_seconds": 2}


def reply(body: dict) -> str:
    """The answer names the model that gave it, so a member's reply shows which was asked."""
    return f"{body['model']}：{body['messages'][-1]['content']}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def storage_url(request, tmp_path_factory):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('store')}/events.db"
    return empty_postgres_url()


class Deployment:
    """The emulated corp with its two apps, the model, and two service processes."""

    def __init__(self, wecom: WeComEmulator, wecom_url: str, model, model_url, storage_url):
        self.wecom, self.model = wecom, model
        self.hr, self.it = wecom.first_app, wecom.add_app(IT_AGENT)
        self.hr_keys, self.it_keys = CallbackKeys(), CallbackKeys()
        bot_keys = CallbackKeys()
        self.bot = AiBotPeer(bot_keys.token, bot_keys.aes_key)
        self.admin_token = secrets.token_urlsafe(24)
        self.config = {
            "services": {"channel_type": "weworktop", "weworktop": {
                "corp_id": wecom.corp_id,
                "api_base_url": wecom_url,
                "host": "127.0.0.1",
                **FAST,
                "apps": [
                    {"name": "hr", "agent_id": HR_AGENT, "corp_secret": self.hr.corp_secret,
                     "token": self.hr_keys.token, "aes_key": self.hr_keys.aes_key,
                     "welcome_message": "我是 HR 助手",
                     "llm": {"model": "hr-model", "system_prompt": HR_PROMPT}},
                    {"name": "it", "agent_id": IT_AGENT, "corp_secret": self.it.corp_secret,
                     "token": self.it_keys.token, "aes_key": self.it_keys.aes_key,
                     "callback_path": "/it-desk", "single_chat_prefix": ["IT", "it"],
                     "welcome_message": "我是 IT 帮手",
                     "llm": {"model": "it-model", "system_prompt": IT_PROMPT}},
                ],
                "aibots": [
                    {"name": "team", "token": bot_keys.token, "aes_key": bot_keys.aes_key,
                     "llm": {"model": "bot-model", "system_prompt": BOT_PROMPT}},
                ],
            }},
            "llm": {"provider": "openai", "base_url": f"{model_url}/v1", "model": "shared-model"},
            "storage": {"url": storage_url},
            "admin": {"enabled": True, "bearer_token": self.admin_token},
        }
        self.services: list[ServiceProcess] = []

    def start(self, workdir) -> ServiceProcess:
        # A copy: each process picks a port of its own into its configuration.
        service = ServiceProcess(copy.deepcopy(self.config), workdir)
        service.start()
        self.services.append(service)
        return service

    def hr_sender(self, **forged) -> WeComSender:
        return WeComSender(self.wecom, self.hr_keys, "/wework_callback/hr", self.hr, **forged)

    def it_sender(self, **forged) -> WeComSender:
        return WeComSender(self.wecom, self.it_keys, "/it-desk", self.it, **forged)

    def said_by(self, app, user: str) -> list[str]:
        return [m.content for m in self.wecom.sent_by(app) if m.touser == user]

    def admin(self, service: ServiceProcess, path: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        return httpx.get(f"{service.base_url}/admin/api{path}", headers=headers, timeout=5)

    def events_recorded(self) -> int:
        stats = self.admin(self.services[0], "/stats").json()
        return sum(stats["events_by_type"].values())

    def model_calls(self, model: str) -> list[dict]:
        return [request for request in self.model.requests if request["model"] == model]


@pytest.fixture(scope="module")
def deployment(storage_url, tmp_path_factory):
    wecom = WeComEmulator()
    model = OpenAIStandIn(reply=reply)
    with serve(wecom.app) as wecom_url, serve(model.app) as model_url:
        deployment = Deployment(wecom, wecom_url, model, model_url, storage_url)
        for n in range(2):
            deployment.start(tmp_path_factory.mktemp(f"service{n}"))
        yield deployment
        for service in deployment.services:
            service.stop()


def test_start_up_names_every_channel_and_readyz_reports_each(deployment):
    for service in deployment.services:
        log = service.log()
        assert log.count("serving app hr (agent 1000002) at /wework_callback/hr") == 1
        assert log.count("serving app it (agent 1000003) at /it-desk") == 1
        assert log.count("serving aibot team at /wework_aibot/team") == 1
        # With the admin surface on, the probes want its token too (admin.protect_probes).
        headers = {"Authorization": f"Bearer {deployment.admin_token}"}
        ready = httpx.get(f"{service.base_url}/readyz", headers=headers, timeout=5)
        assert ready.status_code == 200
        assert set(ready.json()["channels"]) == {"app:hr", "app:it", "aibot:team"}


def test_each_app_answers_with_its_own_token_model_and_system_prompt(deployment):
    first, second = deployment.services
    hr, it = deployment.hr_sender(), deployment.it_sender()
    hr.post(first.base_url, *hr.callback("zhangsan", "年假几天？", 101))
    it.post(second.base_url, *it.callback("zhangsan", "IT 打印机坏了", 102))

    wait_until(lambda: deployment.said_by(deployment.it, "zhangsan"), what="the IT answer")
    wait_until(lambda: deployment.said_by(deployment.hr, "zhangsan"), what="the HR answer")
    assert deployment.said_by(deployment.hr, "zhangsan") == ["hr-model：年假几天？"]
    # The IT app's prefix is its own, and stripped before the model sees the question.
    assert deployment.said_by(deployment.it, "zhangsan") == ["it-model：打印机坏了"]
    [asked_hr], [asked_it] = deployment.model_calls("hr-model"), deployment.model_calls("it-model")
    assert asked_hr["messages"][0] == {"role": "system", "content": HR_PROMPT}
    assert asked_it["messages"][0] == {"role": "system", "content": IT_PROMPT}
    # The emulator takes a send only with the token of the app its agentid names (or 301002).
    for app in (deployment.hr, deployment.it):
        assert {m.agentid for m in deployment.wecom.sent_by(app)} == {app.agent_id}


def test_each_app_keeps_its_own_rules_and_welcome(deployment):
    service = deployment.services[0]
    hr, it = deployment.hr_sender(), deployment.it_sender()
    for sender in (hr, it):
        sender.post(service.base_url, *sender.event_callback("lisi", "enter_agent"))
    it.post(service.base_url, *it.callback("lisi", "你好", 201))  # no IT prefix: not answered
    hr.post(service.base_url, *hr.callback("lisi", "你好", 202))  # HR answers everything

    wait_until(lambda: len(deployment.said_by(deployment.hr, "lisi")) == 2, what="HR's replies")
    assert deployment.said_by(deployment.hr, "lisi") == ["我是 HR 助手", "hr-model：你好"]
    wait_until(lambda: deployment.said_by(deployment.it, "lisi"), what="IT's welcome")

    def fate_of_201():
        found = deployment.admin(service, "/messages/201?channel=app:it").json()["messages"]
        return [(m["status"], m["why"]) for m in found]

    # Handled after the welcome in its conversation: wait for it to settle.
    wait_until(lambda: fate_of_201()[0][0] != "waiting", what="message 201 settled")
    assert fate_of_201() == [
        ("ignored", "no single_chat_prefix matched")
    ]
    assert deployment.said_by(deployment.it, "lisi") == ["我是 IT 帮手"]


def test_memory_and_dedup_are_per_app(deployment, figures):
    first, second = deployment.services
    hr, it = deployment.hr_sender(), deployment.it_sender()
    hr.post(first.base_url, *hr.callback("wangwu", "我的工号是 42", 301))
    wait_until(lambda: deployment.said_by(deployment.hr, "wangwu"), what="the first answer")
    # The same MsgId on both apps: two messages. Each is retried on the other process.
    for sender in (hr, it):
        prompt = "我的工号是多少？" if sender is hr else "IT 我的工号是多少？"
        params, body = sender.callback("wangwu", prompt, 302)
        assert sender.post_each([first.base_url, second.base_url] * 2, params, body) == 4

    wait_until(
        lambda: len(deployment.said_by(deployment.hr, "wangwu")) == 2
        and deployment.said_by(deployment.it, "wangwu"),
        what="both answers to MsgId 302",
    )
    remembered = [
        [m["content"] for m in request["messages"]]
        for request in deployment.model.requests
        if request["messages"][-1]["content"] == "我的工号是多少？"
    ]
    assert sorted(remembered) == sorted([
        [HR_PROMPT, "我的工号是 42", "hr-model：我的工号是 42", "我的工号是多少？"],
        [IT_PROMPT, "我的工号是多少？"],  # the IT app never heard of HR's conversation
    ])
    time.sleep(1.0)  # time enough for a duplicate answer to arrive, were there one
    figures(
        f"MsgId 302 on two apps, each posted 4 times to 2 processes: "
        f"HR answers={len(deployment.said_by(deployment.hr, 'wangwu'))} (1 before), "
        f"IT answers={len(deployment.said_by(deployment.it, 'wangwu'))}"
    )
    assert len(deployment.said_by(deployment.hr, "wangwu")) == 2
    assert len(deployment.said_by(deployment.it, "wangwu")) == 1


def test_one_app_s_callback_on_another_app_s_path_is_refused_and_stored_nowhere(deployment):
    service = deployment.services[1]
    recorded = deployment.events_recorded()
    hr_signed = deployment.hr_sender().callback("mallory", "IT 给我管理员权限", 401)
    wrong_agent = deployment.it_sender(agent_id=HR_AGENT).callback("mallory", "IT 你好", 402)

    on_it_path = httpx.post(
        f"{service.base_url}/it-desk", params=hr_signed[0], content=hr_signed[1], timeout=5
    )
    assert on_it_path.status_code == 403
    assert deployment.it_sender().post(service.base_url, *wrong_agent).status_code == 400
    assert deployment.events_recorded() == recorded
    assert deployment.admin(service, "/search?q=mallory").json()["messages"] == []
    log = service.log()
    assert "callback to app:it from 127.0.0.1 refused with 403 (-40001)" in log
    assert f"refused with 400 (-40002): AgentID {HR_AGENT} is not the agent_id of app:it" in log
    assert deployment.hr_keys.token not in log and deployment.it_keys.aes_key not in log


def test_the_admin_api_knows_each_channel_and_refuses_unknown_ones(deployment):
    service = deployment.services[0]
    channels = deployment.admin(service, "/channels").json()["channels"]
    assert [c["name"] for c in channels] == ["app:hr", "app:it", "aibot:team"]
    for path in ("/messages?channel=app:nope", "/conversations?channel=app:nope",
                 "/token?channel=aibot:nope", "/messages/101?channel=app:nope"):
        assert deployment.admin(service, path).status_code == 404, path
    hr_messages = deployment.admin(service, "/messages?channel=app:hr").json()["messages"]
    assert hr_messages and all(m["conversation_id"].startswith("app:hr/") for m in hr_messages)


def test_the_bot_answers_with_its_own_model_and_memory(deployment):
    service = deployment.services[0]
    caller = AiBotCaller(deployment.bot, f"{service.base_url}/wework_aibot/team")

    caller.send(text_payload("BOT-E2E-1", "我的工号是多少？", user="wangwu"))
    contents = caller.follow("BOT-E2E-1")

    assert contents[-1] == "bot-model：我的工号是多少？"
    [asked] = deployment.model_calls("bot-model")
    assert asked["stream"] is True
    assert [m["content"] for m in asked["messages"]] == [BOT_PROMPT, "我的工号是多少？"]


def test_two_processes_fetch_one_token_per_app(deployment, figures):
    """Last: by now both processes have sent as both apps."""
    for app in (deployment.hr, deployment.it):
        assert deployment.wecom.sent_by(app)
    calls = [deployment.wecom.calls(GETTOKEN, app) for app in (deployment.hr, deployment.it)]
    figures(f"gettoken calls per app with 2 processes: hr={calls[0]} it={calls[1]}")
    assert calls == [1, 1]
