"""Governance end to end: real service processes between the WeCom emulator and an OpenAI
stand-in that counts tokens, on SQLite and on PostgreSQL. Who may ask, what it costs (and
the quota two instances share), what is kept (retention, erasure, export), and messages the
company sends first, through the admin API as an operator or a cron job would use it."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.standins.openai_standin import OpenAIStandIn
from tests.support.e2e import CallbackKeys, WeComSender, random_key, service_config
from tests.support.live_server import serve
from tests.support.postgres import postgres_url
from tests.support.service_process import ServiceProcess, wait_until
from tests.support.stores import emptied_now
from wecom_emulator import SEND, WeComEmulator

ADMIN = random_key(32)
READ_ONLY = random_key(32)
NAMES = {"zhangsan": "张三", "lisi": "李四", "wangwu": "王五"}
# 张三 and 李四 are in R&D (2); 王五 in sales (4); tag 7 is "managers": 李四.
DEPARTMENTS = {2: ["zhangsan", "lisi"], 4: ["wangwu"]}
TAGS = {7: ["lisi"]}
FAST = {"lease_seconds": 2, "sweep_seconds": 0.3, "shutdown_grace_seconds": 2}


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/events.db"
    return emptied_now(postgres_url())


class Rig:
    def __init__(self, wecom, wecom_url, model, model_url, storage_url, tmp_path):
        self.wecom, self.model, self.storage_url = wecom, model, storage_url
        self.keys = CallbackKeys()
        self.sender = WeComSender(wecom, self.keys)
        self.llm = {
            "provider": "openai", "base_url": f"{model_url}/v1", "model": "stand-in",
            "price": {"input_per_1k": 2.0, "output_per_1k": 8.0},
        }
        self.wecom_url = wecom_url
        self.tmp_path = tmp_path
        self.services: list[ServiceProcess] = []
        self.msg_ids = iter(range(1, 10_000))

    def start(self, storage: dict | None = None, **rules) -> ServiceProcess:
        config = service_config(
            self.wecom, self.wecom_url, self.keys, self.storage_url, llm=self.llm,
            **FAST, **rules,
        )
        config["storage"] |= storage or {}
        config["admin"] = {"enabled": True, "bearer_token": ADMIN, "read_only_token": READ_ONLY}
        workdir = self.tmp_path / f"service{len(self.services)}"
        workdir.mkdir()
        service = ServiceProcess(config, workdir)
        service.start()
        self.services.append(service)
        return service

    def say(self, service: ServiceProcess, user: str, content: str) -> None:
        params, body = self.sender.callback(user, content, next(self.msg_ids))
        assert self.sender.post(service.base_url, params, body).status_code == 200

    def got(self, user: str) -> list[str]:
        return self.wecom.contents_for(user)

    def stop(self) -> None:
        for service in self.services:
            service.stop()


@pytest.fixture
def rig(storage_url, tmp_path):
    wecom = WeComEmulator(known_users=NAMES, names=NAMES, departments=DEPARTMENTS, tags=TAGS)
    model = OpenAIStandIn()
    with serve(wecom.app) as wecom_url, serve(model.app) as model_url:
        rig = Rig(wecom, wecom_url, model, model_url, storage_url, tmp_path)
        yield rig
        rig.stop()


def admin(service, method: str, path: str, token: str = ADMIN, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{service.base_url}/admin/api/{path}"
    return httpx.request(method, url, headers=headers, timeout=10, **kwargs)


def test_access_usage_erasure_export_and_sending_first(rig, figures):
    service = rig.start(access={"allow_departments": [2], "denied_reply": "本助手仅对研发部开放"})

    # Access: 王五 (sales) is refused with the reply, and the model is never asked for him.
    rig.say(service, "zhangsan", "周会几点？")
    rig.say(service, "wangwu", "你好")
    wait_until(lambda: rig.got("zhangsan") and rig.got("wangwu"), what="both replies")
    assert rig.got("zhangsan") == ["answer to: 周会几点？"]
    assert rig.got("wangwu") == ["本助手仅对研发部开放"]
    assert len(rig.model.requests) == 1

    # Usage: the server's count, by member and by department, priced.
    usage = admin(service, "GET", "usage", params={"by": "member"}).json()["totals"]
    [zhangsan] = usage
    assert (zhangsan["key"], zhangsan["calls"], zhangsan["estimated_calls"]) == ("zhangsan", 1, 0)
    assert zhangsan["tokens_in"] > 0 and zhangsan["tokens_out"] > 0
    assert zhangsan["cost"] == pytest.approx(
        zhangsan["tokens_in"] / 1000 * 2.0 + zhangsan["tokens_out"] / 1000 * 8.0
    )
    by_department = admin(service, "GET", "usage", params={"by": "department"}).json()
    assert [t["key"] for t in by_department["totals"]] == ["2"]

    # Sending first: to a member, a department and a tag, unknown ones reported per recipient.
    announcement = {
        "channel": "app:default", "to_users": ["zhangsan", "nobody"], "to_departments": [4, 99],
        "to_tags": [7], "msgtype": "text", "content": "周五下午三点全员会",
        "idempotency_key": "all-hands-1",
    }
    sent = admin(service, "POST", "send", json=announcement)
    assert sent.status_code == 200, sent.text
    assert (sent.json()["invalid_users"], sent.json()["invalid_departments"]) == (
        ["nobody"], [99]
    )
    assert admin(service, "POST", "send", json=announcement).json()["replayed"] is True
    for user in ("zhangsan", "lisi", "wangwu"):
        assert rig.got(user).count("周五下午三点全员会") == 1
    rig.wecom.fail_next(SEND, 60020)
    refused = admin(service, "POST", "send", json=announcement | {"idempotency_key": "again"})
    assert refused.status_code == 502 and refused.json()["errcode"] == 60020
    listed = admin(service, "GET", "announcements").json()["announcements"]
    assert [(a["idempotency_key"], a["status"]) for a in listed] == [
        ("again", "failed"), ("all-hands-1", "sent")
    ]

    # The read-only token reads, and can neither send nor erase.
    assert admin(service, "GET", "usage", token=READ_ONLY).status_code == 200
    assert admin(service, "POST", "send", token=READ_ONLY, json=announcement).status_code == 403
    erase = {"json": {"requested_by": "HR 王经理, ticket 42"}}
    refused = admin(service, "POST", "members/zhangsan/erase", token=READ_ONLY, **erase)
    assert refused.status_code == 403

    # Erasure: what 张三 said and was told is gone; the facts and the totals stay.
    assert admin(service, "POST", "members/nobody/erase", **erase).status_code == 404
    erased = admin(service, "POST", "members/zhangsan/erase", **erase)
    assert erased.json() == {"member": "zhangsan", "messages": 1}
    [message] = admin(service, "GET", "messages", params={"user": "zhangsan"}).json()["messages"]
    assert message["status"] == "answered"
    assert "内容已删除 content removed" in message["events"][0]["summary"]
    assert admin(service, "GET", "usage", params={"by": "member"}).json()["totals"] == usage

    # Export: every event of the period, the audit event among them, no secret.
    exported = admin(service, "GET", "export", params={"since": "2000-01-01"})
    records = [json.loads(line) for line in exported.text.splitlines()]
    types = [record["type"] for record in records]
    assert types.count("MessageReceived") == 2 and "MemberErased" in types
    assert types.count("AnnouncementRequested") == 2
    assert rig.wecom.corp_secret not in exported.text and rig.keys.aes_key not in exported.text
    csv_lines = admin(service, "GET", "export", params={"format": "csv"}).text.splitlines()
    assert len(csv_lines) == len(records) + 1
    figures(f"events exported={len(records)} usage={zhangsan['tokens_in']}+"
            f"{zhangsan['tokens_out']} tokens")


def test_a_quota_is_shared_by_two_instances(rig, figures):
    first = rig.start(quota={"member_tokens_per_day": 1})
    second = rig.start(quota={"member_tokens_per_day": 1})

    rig.say(first, "lisi", "第一个问题")
    wait_until(lambda: len(rig.got("lisi")) == 1, what="the first answer")
    rig.say(second, "lisi", "第二个问题")  # the other instance sees the tokens already spent
    wait_until(lambda: len(rig.got("lisi")) == 2, what="the quota notice")
    rig.say(first, "lisi", "第三个问题")  # and the first sees that lisi was told
    rig.say(second, "zhangsan", "我的额度还在")
    wait_until(lambda: rig.got("zhangsan"), what="another member's answer")
    time.sleep(1)

    answer, notice = rig.got("lisi")
    assert answer == "answer to: 第一个问题"
    assert notice.startswith("你今天的用量已用完（每天 1 token）")
    assert len(rig.model.requests) == 2
    quiet = admin(first, "GET", "messages", params={"user": "lisi", "limit": 1}).json()
    assert quiet["messages"][0]["why"].endswith("the member was already told")
    figures(f"lisi got {len(rig.got('lisi'))} replies for 3 messages over 2 instances")


def test_retention_removes_old_content_but_keeps_the_facts_and_the_totals(rig, figures):
    service = rig.start()
    rig.say(service, "zhangsan", "去年的问题")
    wait_until(lambda: rig.got("zhangsan"), what="the answer")
    totals = admin(service, "GET", "usage", params={"by": "member"}).json()["totals"]
    service.stop()
    age_every_event(rig.storage_url, days=40)

    service = rig.start(storage={"retention_days": 30})

    def contents() -> list[str]:
        messages = admin(service, "GET", "messages", params={"user": "zhangsan"}).json()
        return [m["events"][0]["summary"] for m in messages["messages"]]

    wait_until(lambda: "内容已删除" in contents()[0], what="the old content removed")
    [old] = admin(service, "GET", "messages", params={"user": "zhangsan"}).json()["messages"]
    assert old["status"] == "answered" and old["sent_parts"] == 1
    assert admin(service, "GET", "usage", params={"by": "member"}).json()["totals"] == totals

    rig.say(service, "zhangsan", "今天的问题")
    wait_until(lambda: len(rig.got("zhangsan")) == 2, what="today's answer")
    # Memory ends at the removed turn: today's question went without last year's.
    assert [m["content"] for m in rig.model.requests[-1]["messages"][1:]] == ["今天的问题"]
    figures("old content removed at start-up, usage totals unchanged")


def age_every_event(storage_url: str, days: int) -> None:
    """Moves every recorded event `days` into the past, as if recorded then."""
    url = storage_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE events SET occurred_at = occurred_at - :s"), {"s": days * 86400})
    engine.dispose()
