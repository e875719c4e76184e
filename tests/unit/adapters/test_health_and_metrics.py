"""/healthz, /readyz and /metrics in-process (httpx over ASGI), with fakes behind them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from adapters.inbound import health
from adapters.inbound.health import Readiness
from adapters.inbound.operator.admin import AdminSurface
from adapters.outbound.metrics.prometheus_telemetry import PrometheusTelemetry
from application.pipeline.spooled_intake import IntakeState
from tests.fakes.event_store import InMemoryEventStore
from tests.fakes.wecom import FakeWeComGateway

NOW = 1_700_000_000.0
TOKEN = "admin-token-0123456789abcdef"


@pytest.fixture
def parts():
    return InMemoryEventStore(), FakeWeComGateway(), PrometheusTelemetry()


@pytest.fixture
async def client(parts):
    store, wecom, telemetry = parts
    channels = {"app:default": wecom.token_status, "aibot:team": None}
    readiness = Readiness(store.ping, channels, clock=lambda: NOW)
    app = Starlette(routes=health.routes(readiness, telemetry.render, telemetry.content_type))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as c:
        yield c


async def test_healthz_says_ok(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}


async def test_ready_before_any_token_was_needed(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["wecom"] == {"token": "not fetched yet"}


async def test_ready_with_a_valid_token_says_how_long_it_lasts(client, parts):
    parts[1].token_valid_until = NOW + 3600
    body = (await client.get("/readyz")).json()
    assert body["status"] == "ready" and body["wecom"] == {"token": "valid", "expires_in": 3600}


async def test_not_ready_when_the_token_cannot_be_had_without_wecoms_words(client, parts):
    parts[1].token_error = "WeCom said: not allow to access from your ip, from ip: 198.51.100.4"
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["wecom"] == {"token": "failing"}
    assert "198.51.100.4" not in response.text


async def test_readiness_is_worked_out_once_for_many_callers_within_its_cache_time(parts):
    store, wecom, telemetry = parts
    pings, clock = [], [NOW]

    async def ping() -> None:
        pings.append(clock[0])
        await asyncio.sleep(0.01)  # a store round trip, while more callers arrive

    readiness = Readiness(
        ping, {"app:default": wecom.token_status}, clock=lambda: clock[0], cache_seconds=5
    )
    app = Starlette(routes=health.routes(readiness, telemetry.render, telemetry.content_type))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        answers = await asyncio.gather(*(client.get("/readyz") for _ in range(100)))
        clock[0] += 4.9
        await client.get("/readyz")
        clock[0] += 0.2
        await client.get("/readyz")
    assert {answer.status_code for answer in answers} == {200}
    assert pings == [NOW, clock[0]]


async def test_readiness_and_metrics_can_need_the_admin_token(parts):
    store, wecom, telemetry = parts
    readiness = Readiness(store.ping, {"app:default": wecom.token_status}, clock=lambda: NOW)
    surface = AdminSurface(TOKEN, store.statistics)
    routes = health.routes(
        readiness, telemetry.render, telemetry.content_type, [surface.guard()]
    )
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        for path in ("/readyz", "/metrics"):
            assert (await client.get(path)).status_code == 401
            authorized = await client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
            assert authorized.status_code == 200
        assert (await client.get("/healthz")).status_code == 200


async def test_each_channel_is_reported(client, parts):
    parts[1].token_valid_until = NOW + 60
    body = (await client.get("/readyz")).json()
    assert body["channels"]["app:default"] == {"token": "valid", "expires_in": 60}
    assert "no access token" in body["channels"]["aibot:team"]["callbacks"]


async def test_not_ready_when_the_store_is_unreachable(client, parts):
    parts[0].unreachable = True
    response = await client.get("/readyz")
    assert response.status_code == 503 and response.json()["store"] == "unreachable"


async def readyz_with(parts, intake: IntakeState, token_status=None) -> httpx.Response:
    store, wecom, telemetry = parts
    readiness = Readiness(
        store.ping, {"app:default": token_status or wecom.token_status},
        clock=lambda: NOW, intake_state=lambda: intake,
    )
    app = Starlette(routes=health.routes(readiness, telemetry.render, telemetry.content_type))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return await client.get("/readyz")


async def test_degraded_but_accepting_while_writes_fail_and_the_spool_takes_messages(parts):
    parts[0].unreachable = True
    response = await readyz_with(parts, IntakeState(7, NOW - 12, None))
    body = response.json()
    assert response.status_code == 200 and body["status"] == "degraded"
    assert body["store"] == "unreachable" and body["spooled"] == 7
    assert body["writes_failing_for"] == 12 and body["spool"].startswith("accepting")


async def test_a_store_that_answers_reads_but_fails_writes_is_not_called_ready(parts):
    # A full SQLite disk: the ping (a read) succeeds, the latest append failed.
    response = await readyz_with(parts, IntakeState(3, NOW - 5, None))
    assert response.status_code == 200 and response.json()["status"] == "degraded"


async def test_not_ready_with_nowhere_to_write(parts):
    response = await readyz_with(parts, IntakeState(50, NOW - 5, "the spool holds 50 messages"))
    body = response.json()
    assert response.status_code == 503 and body["status"] == "not ready"
    assert body["spool"].startswith("refusing")


async def test_still_replaying_the_spool_is_degraded_until_it_is_empty(parts):
    response = await readyz_with(parts, IntakeState(4, None, None))
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    empty = await readyz_with(parts, IntakeState(0, None, None))
    assert empty.json()["status"] == "ready"


async def test_low_disk_space_is_degraded_with_the_reason_before_anything_fails(parts, caplog):
    store, wecom, _ = parts
    readiness = Readiness(
        store.ping, {"app:default": wecom.token_status}, clock=lambda: NOW,
        disk_shortage=lambda: ("12 MiB free where the service writes", Path("/srv/data")),
    )
    app = Starlette(routes=health.routes(readiness, lambda: b"", "text/plain"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        response = await client.get("/readyz")
    body = response.json()
    assert response.status_code == 200 and body["status"] == "degraded"
    assert body["disk"] == "ACTION NEEDED: 12 MiB free where the service writes"
    assert "ACTION NEEDED: 12 MiB free where the service writes (/srv/data)" in caplog.text


async def test_a_token_state_that_cannot_be_read_is_unknown_never_a_500(parts):
    async def broken():
        raise ConnectionError("the token cache's database is down")

    response = await readyz_with(parts, IntakeState(1, NOW - 1, None), token_status=broken)
    assert response.status_code == 200
    assert response.json()["channels"]["app:default"] == {"token": "unknown"}


async def test_metrics_are_prometheus_text_that_moves_with_the_service(client, parts):
    telemetry = parts[2]
    telemetry.callback_answered("app:default", "accepted", 0.004)
    telemetry.callback_answered("app:default", "refused_403", 0.001)
    telemetry.model_called("app:default", "ok", 1.5)
    telemetry.wecom_called("app:default", "message/send", "0")
    telemetry.wecom_called("app:default", "gettoken", "0")
    telemetry.pending_messages(3)
    response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    app = 'channel="app:default"'
    assert f'weworktop_callbacks_total{{{app},outcome="accepted"}} 1.0' in text
    assert f'weworktop_callbacks_total{{{app},outcome="refused_403"}} 1.0' in text
    assert f"weworktop_callback_ack_seconds_count{{{app}}} 2.0" in text
    assert f'weworktop_model_call_seconds_count{{{app},outcome="ok"}} 1.0' in text
    assert f'weworktop_wecom_api_calls_total{{{app},endpoint="gettoken",errcode="0"}} 1.0' in text
    assert "weworktop_pending_messages 3.0" in text
