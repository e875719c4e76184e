"""What the operator sees of a bot's long connection: /readyz per channel (a refused BotID or
a bot taken by another deployment is not ready; why is for the log and the admin API),
/metrics per bot, the operator's view of
the link, and members' 👍/👎 on the message they rate."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from adapters.inbound import health
from adapters.inbound.health import Readiness
from adapters.inbound.operator.operator_json import channel_json, summary
from adapters.outbound.metrics.prometheus_telemetry import PrometheusTelemetry
from application.operator.operator_view import OperatorView
from application.ports.aibot_link import (
    CONNECTED,
    CONNECTING,
    REFUSED,
    REPLACED,
    STANDBY,
    LinkStatus,
)
from domain.events import FeedbackGiven
from tests.fakes.event_store import InMemoryEventStore

NOW = 1_700_000_000.0
BOT = "aibot:team"


class Link:
    def __init__(self, status: LinkStatus):
        self.now = status

    def status(self) -> LinkStatus:
        return self.now


async def readyz(link: Link) -> httpx.Response:
    store = InMemoryEventStore()
    readiness = Readiness(store.ping, {BOT: None}, clock=lambda: NOW,
                          link_statuses={BOT: link.status})
    telemetry = PrometheusTelemetry()
    app = Starlette(routes=health.routes(readiness, telemetry.render, telemetry.content_type))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        return await c.get("/readyz")


@pytest.mark.parametrize("state", [CONNECTED, CONNECTING, STANDBY])
async def test_a_link_that_is_up_reconnecting_or_standing_by_is_ready(state):
    response = await readyz(Link(LinkStatus(state, NOW - 5, None)))
    assert response.status_code == 200
    assert response.json()["channels"][BOT] == {"link": state, "since": NOW - 5}


@pytest.mark.parametrize("state", [REFUSED, REPLACED])
async def test_a_refused_or_replaced_link_is_not_ready_without_wecoms_words(state):
    why = "WeCom refused the BotID and Secret (errcode 853000: invalid bot_id or secret)"
    response = await readyz(Link(LinkStatus(state, NOW, why)))
    assert response.status_code == 503
    assert response.json()["channels"][BOT] == {"link": state, "since": NOW}
    assert "853000" not in response.text  # the reason is in the log and the admin API


def test_metrics_show_each_bots_link_state_reconnects_and_frames():
    telemetry = PrometheusTelemetry()
    telemetry.aibot_link_state(BOT, CONNECTING)
    telemetry.aibot_link_state(BOT, CONNECTED)
    telemetry.aibot_link_reconnected(BOT)
    telemetry.aibot_frame(BOT, "out", "aibot_respond_msg")
    telemetry.aibot_frame(BOT, "in", "skipped")
    text = telemetry.render().decode()
    bot = f'channel="{BOT}"'
    assert f'weworktop_aibot_link_state{{{bot},state="connected"}} 1.0' in text
    assert f'weworktop_aibot_link_state{{{bot},state="connecting"}} 0.0' in text
    assert f"weworktop_aibot_link_reconnects_total{{{bot}}} 1.0" in text
    assert (
        f'weworktop_aibot_frames_total{{{bot},direction="out",kind="aibot_respond_msg"}} 1.0'
        in text
    )
    assert f'weworktop_aibot_frames_total{{{bot},direction="in",kind="skipped"}} 1.0' in text


async def test_the_operators_view_shows_each_bots_link():
    link = Link(LinkStatus(CONNECTED, NOW - 60, None))
    view = OperatorView(InMemoryEventStore(), {BOT: None, "aibot:desk": None}, lambda _: None,
                        link_statuses={BOT: link.status})
    reports = {report.name: channel_json(report) for report in await view.channels()}
    assert reports[BOT]["link"] == {"state": CONNECTED, "since": NOW - 60, "last_error": None}
    assert reports["aibot:desk"]["link"] is None  # a bot in callback mode has no link


def test_feedback_reads_as_a_thumb_on_the_message():
    given = FeedbackGiven(stream_id=f"{BOT}/msg:M1", version=5, conversation_id="c",
                          from_user="zhangsan", rating="bad", comment="不够详细")
    assert summary(given) == "反馈 feedback from zhangsan: 👎 踩 bad: 「不够详细」"
