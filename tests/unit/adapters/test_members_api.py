"""POST /admin/api/members/{userid}/erase: 200 with how many messages, 404 for a member never
heard from, 400 without who asked; always behind the bearer token."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from adapters.inbound.operator.admin import AdminSurface
from adapters.inbound.operator.members_api import MembersApi
from application.operator.erase_member import EraseMember
from tests.fakes.event_store import InMemoryEventStore
from tests.support.events import answered, received, text_message

TOKEN = "admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def store():
    store = InMemoryEventStore()
    for number in range(3):
        message = text_message(f"私事{number}", str(number), "zhangsan")
        await store.append([received(message), answered(message, "好的")])
    return store


@pytest.fixture
async def client(store):
    surface = AdminSurface(TOKEN, store.statistics, MembersApi(EraseMember(store)).routes())
    transport = httpx.ASGITransport(app=Starlette(routes=[surface.mount()]))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as c:
        yield c


async def erase(client, member, body, headers=AUTH) -> httpx.Response:
    return await client.post(f"/admin/api/members/{member}/erase", content=body, headers=headers)


async def test_an_erasure_answers_how_many_messages_lost_their_content(client, store):
    response = await erase(client, "zhangsan", '{"requested_by": "王经理 #42"}')
    assert (response.status_code, response.json()) == (
        200, {"member": "zhangsan", "messages": 3}
    )
    assert {e.message.content for e in store.log if hasattr(e, "message")} == {""}


async def test_an_unknown_member_is_404(client):
    response = await erase(client, "nobody", '{"requested_by": "王经理"}')
    assert response.status_code == 404
    assert (await erase(client, "x" * 65, '{"requested_by": "王经理"}')).status_code == 404


@pytest.mark.parametrize(
    "body", ["", "not json", "[]", '{"requested_by": ""}', '{"requested_by": 7}', "{}"]
)
async def test_without_who_asked_it_is_400_and_nothing_is_removed(client, store, body):
    response = await erase(client, "zhangsan", body)
    assert response.status_code == 400
    assert "requested_by" in response.json()["error"]
    assert {e.message.content for e in store.log if hasattr(e, "message")} != {""}


async def test_an_erasure_needs_the_bearer_token(client):
    assert (await erase(client, "zhangsan", '{"requested_by": "x"}', headers={})).status_code == 401
