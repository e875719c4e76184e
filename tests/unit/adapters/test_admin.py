"""The admin surface answers only to its bearer token, and shows counts, never secrets."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from adapters.inbound.operator.admin import AdminSurface
from adapters.inbound.operator.failed_attempts import FailedAttempts
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


async def test_an_address_that_keeps_guessing_is_throttled_and_others_are_not(store):
    app = Starlette(routes=[AdminSurface(TOKEN, store.statistics).mount()])
    right = {"Authorization": f"Bearer {TOKEN}"}

    def client_from(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 1234))
        return httpx.AsyncClient(transport=transport, base_url="http://admin.test")

    async with client_from("203.0.113.66") as guesser, client_from("198.51.100.7") as operator:
        statuses = [
            (await guesser.get("/admin/api/stats", headers={"Authorization": f"Bearer g{n}"}))
            .status_code
            for n in range(12)
        ]
        throttled = await guesser.get("/admin/api/stats", headers=right)
        assert (await operator.get("/admin/api/stats", headers=right)).status_code == 200
    assert statuses == [401] * 10 + [429] * 2
    assert throttled.status_code == 429  # even the right token is not compared now
    assert 0 < int(throttled.headers["retry-after"]) <= 60


def test_a_throttled_address_may_try_again_when_its_window_ends():
    now = [0.0]
    attempts = FailedAttempts(max_failures=3, window_seconds=60, clock=lambda: now[0])
    for _ in range(3):
        attempts.failed("a")
    assert attempts.retry_after("a") == 60
    now[0] = 59.5
    assert attempts.retry_after("a") == 0.5
    now[0] = 60
    assert attempts.retry_after("a") is None


def test_the_throttle_remembers_a_bounded_number_of_addresses():
    attempts = FailedAttempts(max_failures=1, max_clients=100)
    for n in range(10_000):
        attempts.failed(f"10.0.{n // 256}.{n % 256}")
    assert attempts.retry_after("10.0.0.0") is None  # forgotten: the oldest went first
    assert attempts.retry_after("10.0.39.15") is not None
