"""The admin surface answers only to its bearer token, and shows counts, never secrets."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from adapters.inbound.operator.admin import AdminSurface
from tests.fakes.event_store import InMemoryEventStore
from tests.support.events import answered, received, text_message

TOKEN = "admin-token-0123456789abcdef"


@pytest.fixture
async def store():
    store = InMemoryEventStore()
    done, waiting = text_message("a", "1"), text_message("b", "2")
    await store.append([received(done), answered(done, "A")])
    await store.append([received(waiting)])
    return store


@pytest.fixture
async def client(store):
    app = Starlette(routes=[AdminSurface(TOKEN, store.statistics).mount()])
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as c:
        yield c


async def test_stats_with_the_token_are_counts_by_type_and_pending(client):
    response = await client.get("/admin/api/stats", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.json() == {
        "events_by_type": {"AnswerComposed": 1, "MessageReceived": 2},
        "pending_messages": 2,
    }


async def test_the_scheme_name_is_case_insensitive(client):
    response = await client.get("/admin/api/stats", headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN, f"Basic {TOKEN}", "Bearer "],
)
async def test_anything_but_the_token_is_401(client, caplog, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.get("/admin/api/stats", headers=headers)
    assert (response.status_code, response.text) == (401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "admin request from 198.51.100.7 to /admin/api/stats refused with 401" in caplog.text
    assert TOKEN not in caplog.text


async def test_unknown_admin_paths_do_not_reveal_themselves_without_the_token(client):
    assert (await client.get("/admin/nothing-here")).status_code == 401
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert (await client.get("/admin/nothing-here", headers=headers)).status_code == 404


def test_an_empty_token_cannot_build_the_guard():
    with pytest.raises(ValueError):
        AdminSurface("", InMemoryEventStore().statistics).mount()
