"""The admin token's read-only sibling: dashboards may read everything the view shows, but
cannot erase or send (403); the full token still can; neither appears in a log line."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters.inbound.operator.admin import AdminSurface
from tests.fakes.event_store import InMemoryEventStore

TOKEN = "admin-token-0123456789abcdef"
READ_ONLY = "dashboard-token-9876543210fedcba"


async def erase(_: Request) -> JSONResponse:
    return JSONResponse({"erased": True})


@pytest.fixture
async def client():
    store = InMemoryEventStore()
    routes = [Route("/api/members/{userid}/erase", erase, methods=["POST"])]
    surface = AdminSurface(TOKEN, store.statistics, routes, read_only_token=READ_ONLY)
    transport = httpx.ASGITransport(
        app=Starlette(routes=[surface.mount()]), client=("198.51.100.7", 1234)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_read_only_token_reads(client):
    assert (await client.get("/admin/api/stats", headers=bearer(READ_ONLY))).status_code == 200
    assert (await client.head("/admin/api/stats", headers=bearer(READ_ONLY))).status_code == 200


async def test_the_read_only_token_cannot_erase_or_send_and_the_refusal_is_logged(
    client, caplog
):
    response = await client.post("/admin/api/members/zhangsan/erase", headers=bearer(READ_ONLY))
    assert (response.status_code, response.text) == (403, "the read-only token can only read")
    assert "refused with 403: the read-only token cannot POST" in caplog.text
    assert READ_ONLY not in caplog.text and TOKEN not in caplog.text


async def test_the_full_token_still_can(client):
    response = await client.post("/admin/api/members/zhangsan/erase", headers=bearer(TOKEN))
    assert response.json() == {"erased": True}


async def test_without_a_read_only_token_its_value_opens_nothing():
    surface = AdminSurface(TOKEN, InMemoryEventStore().statistics)
    transport = httpx.ASGITransport(app=Starlette(routes=[surface.mount()]))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as c:
        assert (await c.get("/admin/api/stats", headers=bearer(READ_ONLY))).status_code == 401
