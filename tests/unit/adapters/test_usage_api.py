"""GET /admin/api/usage: totals by member, department, channel or day over UTC days, with the
estimated cost from each channel's price; bad parameters are 400 with the reason."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from starlette.applications import Starlette

from adapters.inbound.operator.admin import AdminSurface
from adapters.inbound.operator.operator_json import summary
from adapters.inbound.operator.usage_api import UsageApi
from application.operator.usage_report import UsageReport
from domain.usage import Price, Usage
from tests.fakes.event_store import InMemoryEventStore
from tests.support.events import received, text_message, used

TOKEN = "admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JAN_1, JAN_2 = 1_767_225_600.0, 1_767_312_000.0
PRICES = {"app:hr": Price(input_per_1k=0.5, output_per_1k=1.5, per_picture=0.2)}


async def spend(store, msg_id, user, usage, at, channel="app:hr", department=None):
    message = replace(text_message("问题", msg_id, user), channel=channel)
    await store.append([received(message), used(message, usage, department=department, at=at)])


@pytest.fixture
async def client():
    store = InMemoryEventStore()
    await spend(store, "1", "alice", Usage(1000, 2000), JAN_1, department=2)
    await spend(store, "2", "alice", Usage(pictures=3), JAN_2, department=2)
    await spend(store, "3", "bob", Usage(500, 0, estimated=True), JAN_2, channel="aibot:team")
    surface = AdminSurface(TOKEN, store.statistics, UsageApi(UsageReport(store, PRICES)).routes())
    transport = httpx.ASGITransport(app=Starlette(routes=[surface.mount()]))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as c:
        yield c


async def usage(client, **params) -> httpx.Response:
    return await client.get("/admin/api/usage", params=params, headers=AUTH)


async def test_totals_by_member_with_the_estimated_cost(client):
    body = (await usage(client, by="member", since="2026-01-01", until="2026-01-02")).json()
    alice, bob = body["totals"]
    assert (alice["key"], alice["calls"], alice["tokens_in"], alice["tokens_out"]) == (
        "alice", 2, 1000, 2000
    )
    assert alice["cost"] == pytest.approx(0.5 + 3.0 + 0.6)
    assert (bob["key"], bob["estimated_calls"], bob["cost"]) == ("bob", 1, 0.0)  # no price


async def test_totals_by_day_department_and_channel(client):
    by_day = (await usage(client, by="day", since="2026-01-01", until="2026-01-02")).json()
    assert [(t["key"], t["calls"]) for t in by_day["totals"]] == [
        ("2026-01-01", 1), ("2026-01-02", 2)
    ]
    one_day = (await usage(client, by="department", since="2026-01-02", until="2026-01-02"))
    assert [(t["key"], t["calls"]) for t in one_day.json()["totals"]] == [("", 1), ("2", 1)]
    channels = (await usage(client, by="channel", since="2026-01-01", until="2026-01-02"))
    assert [t["key"] for t in channels.json()["totals"]] == ["aibot:team", "app:hr"]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"by": "mood"}, "by must be one of member, department, channel, day"),
        ({"since": "last week"}, "since must be a day such as 2026-01-31"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "since is after until"),
    ],
)
async def test_a_bad_parameter_is_400_with_the_reason(client, params, error):
    response = await usage(client, **params)
    assert (response.status_code, response.json()) == (400, {"error": error})


async def test_usage_needs_the_bearer_token(client):
    assert (await client.get("/admin/api/usage")).status_code == 401


def test_the_operators_timeline_says_what_a_call_cost():
    message = text_message("问题", "1")
    assert summary(used(message, Usage(120, 30, estimated=True))) == (
        "用量 model used: 120 tokens in, 30 out (estimated)"
    )
    assert summary(used(message, Usage(pictures=1))) == "用量 model used: 1 picture(s)"
    assert summary(used(message, Usage(audio_seconds=3.25))) == "用量 model used: 3.2s of voice"
