"""The operator's view under /admin: why each message was or was not answered, what WeCom
refused and what to do, the token's state; the API only with the token, the page without."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette

from adapters.inbound.operator.admin import AdminSurface
from adapters.inbound.operator.operator_api import OperatorPages
from adapters.inbound.operator.operator_json import HIDDEN, conversation_json
from adapters.outbound.wecom.wecom_errors import advice
from application.channels.app.name_directory import NameDirectory
from application.operator import operator_view
from application.operator.operator_view import OperatorView
from application.ports.wecom import TokenStatus
from domain.events import (
    DeliveryFailed,
    DeliveryPostponed,
    MessageIgnored,
    PictureSeen,
    ReplyDelivered,
    ReplyPartSent,
)
from domain.messages import DEFAULT_AIBOT_CHANNEL, PICTURE, Attachment, InboundMessage
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.wecom import LOOKUP, FakeWeComGateway
from tests.support.events import answered, received, text_message

TOKEN = "admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = 1_700_000_000.0


def step(message, event_type, version, **fields):
    return event_type(
        stream_id=message.dedup_key,
        version=version,
        conversation_id=message.conversation_id,
        occurred_at=NOW + version,
        **fields,
    )


HELLO = text_message("你好", "7001", "zhangsan")
CHITCHAT = InboundMessage(
    msg_type="text", from_user="zhangsan", create_time=1_700_000_000, agent_id=1000001,
    msg_id="7002", content="小知 你好", chat_id="wrkChitchat",
)
REFUSED = text_message("在吗", "7003", "lisi")
BUSY = text_message("还在吗", "7004", "lisi")


@pytest.fixture
async def store():
    store = InMemoryEventStore()
    await store.append(
        [
            received(HELLO),
            answered(HELLO, "（离线模型）你说：你好"),
            step(HELLO, ReplyPartSent, 3, index=0),
            step(HELLO, ReplyDelivered, 4),
        ]
    )
    reason = "group '闲聊群' is not in group_name_white_list"
    await store.append([received(CHITCHAT), step(CHITCHAT, MessageIgnored, 2, reason=reason)])
    refusal = "WeCom refused /cgi-bin/message/send with errcode 60020: … (WeCom said: ip x)"
    await store.append(
        [
            received(REFUSED),
            answered(REFUSED, "在的"),
            step(REFUSED, DeliveryFailed, 3, index=0, reason=refusal, errcode=60020),
        ]
    )
    await store.append(
        [
            received(BUSY),
            answered(BUSY, "还在"),
            step(BUSY, DeliveryPostponed, 3, index=0, reason="WeCom is busy", retry_at=NOW + 8,
                 errcode=-1),
        ]
    )
    return store


@pytest.fixture
async def client(store):
    async def token_status() -> TokenStatus:
        return TokenStatus(valid_until=NOW + 3600, last_error=None)

    channels = {"app:default": token_status, "aibot:team": None}
    view = OperatorView(store, channels, advice, clock=lambda: NOW)
    pages = OperatorPages(view)
    surface = AdminSurface(TOKEN, store.statistics, pages.routes(), pages.public_paths)
    app = Starlette(routes=[surface.mount()])
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as c:
        yield c


async def get(client, path, **params):
    response = await client.get(f"/admin/api/{path}", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_message_by_msg_id_says_why_it_got_no_answer(client):
    [message] = (await get(client, "messages/7002"))["messages"]
    assert (message["status"], message["why"]) == (
        "ignored", "group '闲聊群' is not in group_name_white_list"
    )
    assert [event["summary"] for event in message["events"]] == [
        "收到 received text from zhangsan in group wrkChitchat: 「小知 你好」",
        "不回答 ignored: group '闲聊群' is not in group_name_white_list",
    ]


async def test_an_answered_message_shows_its_timeline_and_parts(client):
    [message] = (await get(client, "messages/7001"))["messages"]
    assert (message["status"], message["parts"], message["sent_parts"]) == ("answered", 1, 1)
    assert [event["type"] for event in message["events"]] == [
        "MessageReceived", "AnswerComposed", "ReplyPartSent", "ReplyDelivered",
    ]
    assert message["events"][1]["detail"]["answer"] == "（离线模型）你说：你好"


async def test_an_unknown_msg_id_is_404(client):
    response = await client.get("/admin/api/messages/999", headers=AUTH)
    assert response.status_code == 404


async def test_search_by_user_finds_private_and_group_messages_newest_first(client):
    found = (await get(client, "search", q="zhangsan"))["messages"]
    assert [m["msg_id"] for m in found] == ["7002", "7001"]
    assert [m["msg_id"] for m in (await get(client, "search", q=" 7003 "))["messages"]] == [
        "7003"
    ]
    assert (await get(client, "search", q="nobody"))["messages"] == []


async def test_conversations_are_listed_most_recently_active_first(client):
    conversations = (await get(client, "conversations"))["conversations"]
    assert [(c["conversation_id"], c["messages"], c["senders"]) for c in conversations] == [
        (REFUSED.conversation_id, 2, ["lisi"]),
        (CHITCHAT.conversation_id, 1, ["zhangsan"]),
        (HELLO.conversation_id, 1, ["zhangsan"]),
    ]
    page = await get(client, "messages", conversation=REFUSED.conversation_id)
    assert [(m["msg_id"], m["status"]) for m in page["messages"]] == [
        ("7004", "postponed"), ("7003", "failed"),
    ]


async def test_messages_come_a_page_at_a_time(client):
    first = await get(client, "messages", limit=3)
    assert [m["msg_id"] for m in first["messages"]] == ["7004", "7003", "7002"]
    rest = await get(client, "messages", limit=3, before=first["next_before"])
    assert ([m["msg_id"] for m in rest["messages"]], rest["next_before"]) == (["7001"], None)


async def test_wecom_errors_are_counted_by_code_with_what_to_do(client):
    report = await get(client, "wecom-errors")
    assert report["looked_at"] == 2
    rows = {row["errcode"]: row for row in report["errors"]}
    assert (rows[60020]["failed"], rows[60020]["postponed"]) == (1, 0)
    assert "trusted IPs" in rows[60020]["advice"]
    assert "errcode 60020" in rows[60020]["last_reason"]
    assert (rows[-1]["failed"], rows[-1]["postponed"]) == (0, 1)
    assert "retries by itself" in rows[-1]["advice"]


async def test_the_token_state_is_times_never_the_token(client):
    token = await get(client, "token")
    assert token == {"valid_until": NOW + 3600, "seconds_left": 3600, "last_error": None}


async def test_every_channel_is_listed_with_its_token_if_it_has_one(client):
    channels = (await get(client, "channels"))["channels"]
    assert channels == [
        {"name": "app:default", "token": {"valid_until": NOW + 3600, "seconds_left": 3600,
                                          "last_error": None}, "link": None},
        {"name": "aibot:team", "token": None, "link": None},
    ]
    assert await get(client, "token", channel="aibot:team") is None


async def test_messages_and_conversations_are_filtered_by_channel(client):
    everything = await get(client, "messages")
    of_app = await get(client, "messages", channel="app:default")
    assert of_app == everything and everything["messages"]
    assert (await get(client, "messages", channel="aibot:team"))["messages"] == []
    conversations = (await get(client, "conversations"))["conversations"]
    assert {c["channel"] for c in conversations} == {"app:default"}
    assert (await get(client, "conversations", channel="aibot:team"))["conversations"] == []


@pytest.mark.parametrize(
    "path", ["messages?channel=app:nope", "conversations?channel=hr", "token?channel=x",
             "messages/7001?channel=app:hr"],
)
async def test_an_unknown_channel_is_404(client, path):
    response = await client.get(f"/admin/api/{path}", headers=AUTH)
    assert response.status_code == 404
    assert "no channel named" in response.json()["error"]


@pytest.mark.parametrize(
    "query", [{"limit": "ten"}, {"before": "-1"}, {"user": "x" * 300}]
)
async def test_a_malformed_query_is_400_with_the_reason(client, query):
    response = await client.get("/admin/api/messages", params=query, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"]


@pytest.mark.parametrize(
    "path", ["conversations", "messages", "messages/7001", "search?q=zhangsan", "wecom-errors",
             "token"],
)
async def test_every_api_route_needs_the_token(client, path):
    assert (await client.get(f"/admin/api/{path}")).status_code == 401


async def test_the_page_is_served_without_the_token_and_holds_no_data(client):
    page = await client.get("/admin/")
    assert page.status_code == 200
    assert "运维视图" in page.text and "zhangsan" not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = await client.get("/admin/operator.js")
    assert script.status_code == 200 and "sessionStorage" in script.text
    assert (await client.post("/admin/")).status_code == 401


async def test_a_response_url_is_shown_only_as_being_there(store, client):
    url = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC-SECRET-1"
    bot = InboundMessage(
        msg_type="text", from_user="wangwu", create_time=1_700_000_000, agent_id=0,
        msg_id="BOT1", content="你好", channel=DEFAULT_AIBOT_CHANNEL, response_url=url,
    )
    await store.append([received(bot)])
    for path in ("messages/BOT1", "search?q=wangwu", "messages?limit=50"):
        response = await client.get(f"/admin/api/{path}", headers=AUTH)
        assert response.status_code == 200
        assert "RC-SECRET-1" not in response.text
    [message] = (await get(client, "messages/BOT1"))["messages"]
    assert message["events"][0]["detail"]["message"]["response_url"] == HIDDEN


class HangingNames(FakeWeComGateway):
    """A WeCom that never answers a name lookup."""

    async def member_name(self, user_id: str) -> str | None:
        await asyncio.Event().wait()


async def conversations_named_by(store, gateway) -> list[dict]:
    async def token_status() -> TokenStatus:
        return TokenStatus(valid_until=None, last_error=None)

    directories = {"app:default": NameDirectory(gateway)}
    view = OperatorView(store, {"app:default": token_status}, advice, directories=directories)
    return [conversation_json(c) for c in await view.conversations()]


async def test_conversations_show_the_group_s_and_the_members_names_from_wecom(store):
    gateway = FakeWeComGateway(chats={"wrkChitchat": "闲聊群"}, names={"zhangsan": "张三"})
    shown = [
        (c["chat_id"], c["title"], c["senders"], c["sender_names"])
        for c in await conversations_named_by(store, gateway)
    ]
    assert shown == [
        ("", "", ["lisi"], [""]),  # a member WeCom has no name for keeps the UserID alone
        ("wrkChitchat", "闲聊群", ["zhangsan"], ["张三"]),
        ("", "张三", ["zhangsan"], ["张三"]),
    ]


async def test_names_wecom_cannot_give_leave_the_ids_and_the_page_works(store, monkeypatch):
    failing = FakeWeComGateway()
    failing.fail_next(times=10, on=LOOKUP)
    assert {c["title"] for c in await conversations_named_by(store, failing)} == {""}

    monkeypatch.setattr(operator_view, "NAMES_WAIT_SECONDS", 0.05)
    hanging = HangingNames(chats={"wrkChitchat": "闲聊群"})
    titles = [c["title"] for c in await conversations_named_by(store, hanging)]
    assert titles == ["", "闲聊群", ""]


async def test_the_token_prompt_says_where_the_sandbox_keeps_the_token(client):
    page = (await client.get("/admin/")).text
    assert "data/sandbox-admin-token" in page and "WEWORKTOP_ADMIN_TOKEN" in page
    icon = await client.get("/admin/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"


async def test_a_bot_picture_shows_what_was_seen_but_never_its_url_or_key(store, client):
    signed = "https://wecom.example/media/1?authkey=SIGNED"
    looked_at = InboundMessage(
        msg_type="mixed", from_user="wangwu", create_time=1_700_000_000, agent_id=0,
        msg_id="7005", content="这是什么？", channel="aibot:team",
        attachments=(Attachment(PICTURE, signed, aeskey="KEY" * 10),),
    )
    seen = step(looked_at, PictureSeen, 2, digest="d" * 64, media_type="image/jpeg",
                width=640, height=480)
    await store.append([received(looked_at), seen])

    [message] = (await get(client, "messages/7005"))["messages"]
    assert [event["summary"] for event in message["events"]] == [
        "收到 received mixed from wangwu: 「这是什么？」",
        "看到图片 picture seen, 640x480",
    ]
    [attachment] = message["events"][0]["detail"]["message"]["attachments"]
    assert attachment["ref"] == attachment["aeskey"] == HIDDEN
    assert "SIGNED" not in str(message) and "KEYKEY" not in str(message)
