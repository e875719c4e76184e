"""POST /admin/api/send and GET /admin/api/announcements: bad input is 400 with the reason,
an unknown channel 404, a reused key for another message 409, WeCom's refusal 502 and
visible in the list; a retried request gets the first answer."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from adapters.inbound.operator.admin import AdminSurface
from adapters.inbound.operator.send_api import SendApi
from application.announcements.send_announcement import SendAnnouncement
from application.channels.app.app_announcer import AppAnnouncer
from application.channels.app.send_pacer import SendPacer
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.wecom import FakeWeComGateway

TOKEN = "admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GOOD = {
    "channel": "app:hr", "to_users": ["zhangsan", "ghost"], "to_departments": [2],
    "msgtype": "markdown", "content": "**周五**全员会", "idempotency_key": "meeting-2026-01-30",
}


@pytest.fixture
def wecom():
    return FakeWeComGateway(invalid_users={"ghost"})


@pytest.fixture
async def client(wecom):
    store = InMemoryEventStore()
    announcers = {"app:hr": AppAnnouncer(wecom, SendPacer()), "aibot:team": None}
    api = SendApi(SendAnnouncement(store, announcers), store)
    surface = AdminSurface(TOKEN, store.statistics, api.routes())
    transport = httpx.ASGITransport(app=Starlette(routes=[surface.mount()]))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as c:
        yield c


async def send(client, body) -> httpx.Response:
    return await client.post("/admin/api/send", json=body, headers=AUTH)


async def test_a_send_answers_how_it_went_and_a_retry_gets_the_same_answer(client, wecom):
    first = await send(client, GOOD)
    assert first.status_code == 200
    body = first.json()
    assert (body["status"], body["parts"], body["sent_parts"], body["replayed"]) == (
        "sent", 1, 1, False
    )
    assert (body["invalid_users"], body["to_departments"]) == (["ghost"], [2])

    again = await send(client, GOOD)
    assert again.status_code == 200 and again.json() == body | {"replayed": True}
    assert len(wecom.announced) == 1


async def test_a_reused_key_for_another_message_is_409(client):
    await send(client, GOOD)
    response = await send(client, GOOD | {"content": "别的内容"})
    assert response.status_code == 409


async def test_wecoms_refusal_is_502_and_listed_for_the_operator(client, wecom):
    wecom.fail_next(permanent=True, errcode=60020, reason="IP not trusted")
    response = await send(client, GOOD)
    assert response.status_code == 502
    assert (response.json()["error"], response.json()["errcode"]) == ("IP not trusted", 60020)

    listed = (await client.get("/admin/api/announcements", headers=AUTH)).json()
    [announcement] = listed["announcements"]
    assert (announcement["idempotency_key"], announcement["status"]) == (
        "meeting-2026-01-30", "failed"
    )


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"idempotency_key": "with space"}, 400, "idempotency_key must be"),
        ({"to_users": [], "to_departments": []}, 400, "name at least one recipient"),
        ({"to_users": "zhangsan"}, 400, "to_users must be a list"),
        ({"to_users": ["@all"]}, 400, "to_users must be a list"),
        ({"to_users": ["zhangsan|lisi"]}, 400, "to_users must be a list"),
        ({"to_departments": ["研发"]}, 400, "to_departments must be a list"),
        ({"to_tags": [True]}, 400, "to_tags must be a list"),
        ({"msgtype": "image"}, 400, 'msgtype must be "text" or "markdown"'),
        ({"content": " "}, 400, "content must be text"),
        ({"channel": None}, 400, "channel must name a channel"),
        ({"channel": "app:nope"}, 404, "no channel named 'app:nope'"),
        ({"channel": "aibot:team"}, 400, "aibot:team cannot send first"),
    ],
)
async def test_bad_input_is_refused_with_the_reason(client, wecom, change, status, error):
    response = await send(client, GOOD | change)
    assert response.status_code == status
    assert response.json()["error"].startswith(error)
    assert wecom.announced == []


async def test_a_body_that_is_not_a_json_object_is_400(client):
    for body in (b"", b"[1]", b"not json"):
        response = await client.post("/admin/api/send", content=body, headers=AUTH)
        assert response.status_code == 400


async def test_send_needs_the_bearer_token(client):
    assert (await client.post("/admin/api/send", json=GOOD)).status_code == 401
