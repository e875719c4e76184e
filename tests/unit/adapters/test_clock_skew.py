"""A clock that WeCom's signed callbacks show to be wrong: refused still, but said once, in
the log and in /readyz, until the clock is right again. In-process (httpx over ASGI)."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette

from adapters.inbound import health
from adapters.inbound.callback.clock_skew import KEPT, ClockSkewWatch
from adapters.inbound.callback.wecom_crypto import WeComCrypto
from adapters.inbound.health import Readiness
from adapters.inbound.wecom_app.wecom_callback import WeComCallback
from tests.fakes.event_store import InMemoryEventStore
from wecom_emulator.callbacks import signed_callback, signed_echo, text_message_xml

CORP_ID, AGENT_ID = "ww1234567890", 1000001
TOKEN, AES_KEY = "Token123", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WECOM_NOW = 1_700_000_000  # WeCom's clock, right
ACTION = "ACTION NEEDED: this server's clock is 600 s behind WeCom's"


class Clocks:
    """This server's wall clock (10 minutes slow unless set otherwise) and its monotonic one."""

    def __init__(self, slow_by: float = 600):
        self.wall = WECOM_NOW - slow_by
        self.mono = 1000.0

    def pass_time(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


class Accepted:
    def __init__(self):
        self.messages = []

    async def __call__(self, message) -> bool:
        self.messages.append(message)
        return True


@pytest.fixture
def clocks():
    return Clocks()


@pytest.fixture
def watch(clocks):
    return ClockSkewWatch(lambda: clocks.wall, lambda: clocks.mono)


@pytest.fixture
def crypto():
    return WeComCrypto(TOKEN, AES_KEY, CORP_ID)


@pytest.fixture
def accepted():
    return Accepted()


@pytest.fixture
async def service(crypto, accepted, clocks, watch):
    callback = WeComCallback(
        crypto, accepted, AGENT_ID, max_skew_seconds=300, clock=lambda: clocks.wall,
        clock_watch=watch,
    )
    readiness = Readiness(InMemoryEventStore().ping, {}, cache_seconds=0, clock_skew=watch.current)
    routes = callback.routes("/cb") + health.routes(readiness, lambda: b"", "text/plain")
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        yield client


def callback(crypto, msg_id: int, timestamp: int = WECOM_NOW, signed_by=None):
    """`signed_by`: another party's crypto (a forger's Token) in place of WeCom's."""
    xml = text_message_xml(CORP_ID, "zhangsan", f"问题{msg_id}", msg_id=msg_id, agent_id=AGENT_ID)
    return signed_callback(signed_by or crypto, xml, timestamp=timestamp)


async def post(service, params, body) -> int:
    return (await service.post("/cb", params=params, content=body)).status_code


def actions(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "ACTION NEEDED" in r.getMessage()]


async def test_a_slow_clock_is_said_once_in_the_log_and_in_readyz_until_a_callback_passes(
    service, crypto, clocks, accepted, caplog
):
    caplog.set_level(logging.INFO)
    assert (await service.get("/readyz")).status_code == 200
    for msg_id in range(1, 9):
        clocks.pass_time(1)  # WeCom's clock and ours run at the same pace
        assert await post(service, *callback(crypto, msg_id, int(clocks.wall) + 600)) == 403
    assert accepted.messages == []  # still refused: a replay must not pass
    [line] = actions(caplog)
    assert line.startswith(ACTION)
    ready = await service.get("/readyz")
    assert ready.status_code == 503 and ready.json()["status"] == "not ready"
    assert ready.json()["clock"].startswith(ACTION)

    clocks.wall = WECOM_NOW + 20  # set right: the next callback is accepted and clears it
    assert await post(service, *callback(crypto, 9, WECOM_NOW + 20)) == 200
    ready = await service.get("/readyz")
    assert ready.status_code == 200 and "clock" not in ready.json()
    assert "clock skew resolved" in caplog.text


async def test_a_fast_clock_is_said_to_be_ahead(service, crypto, clocks, caplog):
    clocks.wall = WECOM_NOW + 3600
    for msg_id in range(1, 4):
        assert await post(service, *callback(crypto, msg_id)) == 403
    [line] = actions(caplog)
    assert line.startswith("ACTION NEEDED: this server's clock is 3600 s ahead of WeCom's")


async def test_bad_signatures_never_count(service, crypto, caplog):
    forger = WeComCrypto("NotTheToken", AES_KEY, CORP_ID)
    for msg_id in range(1, 11):
        assert await post(service, *callback(crypto, msg_id, signed_by=forger)) == 403
    assert actions(caplog) == []
    assert "msg_signature does not match" in caplog.text
    assert (await service.get("/readyz")).status_code == 200


async def test_one_callback_replayed_again_and_again_is_one(service, crypto, caplog):
    params, body = callback(crypto, 1)
    for _ in range(5):
        assert await post(service, params, body) == 403
    assert actions(caplog) == []


async def test_replays_of_different_ages_are_no_pattern(service, crypto, clocks, caplog):
    clocks.wall = WECOM_NOW
    for msg_id, age in enumerate([900, 3600, 7200, 86400]):
        assert await post(service, *callback(crypto, msg_id, WECOM_NOW - age)) == 403
    assert actions(caplog) == []


async def test_an_accepted_callback_between_refusals_starts_the_count_again(
    service, crypto, clocks, caplog
):
    clocks.wall = WECOM_NOW
    for msg_id in (1, 2):
        assert await post(service, *callback(crypto, msg_id, WECOM_NOW - 600)) == 403
    assert await post(service, *callback(crypto, 3)) == 200
    for msg_id in (4, 5):
        assert await post(service, *callback(crypto, msg_id, WECOM_NOW - 600)) == 403
    assert actions(caplog) == []


async def test_refusals_spread_over_more_than_the_window_are_no_pattern(
    service, crypto, clocks, caplog
):
    for msg_id in range(1, 4):
        assert await post(service, *callback(crypto, msg_id, int(clocks.wall) + 600)) == 403
        clocks.pass_time(200)
    assert actions(caplog) == []


async def test_a_url_verification_counts_like_a_message(service, crypto, caplog):
    for n in range(3):
        params = signed_echo(crypto, f"echo{n}", timestamp=WECOM_NOW)
        assert (await service.get("/cb", params=params)).status_code == 403
    assert actions(caplog)[0].startswith(ACTION)


def test_a_clock_stepped_toward_wecoms_clears_it_without_a_callback(watch, clocks, caplog):
    for n in range(3):
        watch.refused(f"sig{n}", 600)
    assert watch.current().seconds == 600
    clocks.pass_time(10)
    assert watch.current() is not None  # time passing is not a correction
    clocks.wall += 600  # NTP steps the clock
    assert watch.current() is None
    assert "was stepped toward WeCom's" in caplog.text


def test_a_clock_stepped_the_wrong_way_does_not_clear_it(watch, clocks):
    for n in range(3):
        watch.refused(f"sig{n}", 600)
    clocks.wall -= 600
    assert watch.current() is not None


def test_a_flood_of_refusals_is_remembered_only_in_part(watch):
    for n in range(10_000):
        watch.refused(f"sig{n}", -3600.0 - 60 * n)  # replays of ever older callbacks
    assert watch.current() is None
    assert len(watch._refused) == KEPT
