"""The real process under a small flood of mixed malformed callbacks (the CI-sized version of
bench/hostile_input.py): never a 5xx, nothing stored, and it still answers a real message."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.support.e2e import service_config
from tests.support.hostile_callbacks import Peer
from tests.support.hostile_flood import flood
from tests.support.live_server import serve
from tests.support.service_process import ServiceProcess, wait_until
from tests.unit.infrastructure.test_security_config import ADMIN_TOKEN
from wecom_emulator import WeComEmulator
from wecom_emulator.callbacks import signed_callback, text_message_xml

MEMBER = "zhangsan"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    wecom = WeComEmulator(known_users={MEMBER})
    peer = Peer("HostileToken123", "H" * 43, wecom.corp_id, wecom.agent_id)
    with serve(wecom.app) as wecom_url:
        config = service_config(
            wecom, wecom_url, peer, f"sqlite:///{tmp_path_factory.mktemp('db')}/events.db"
        )
        config["admin"] = {"enabled": True, "bearer_token": ADMIN_TOKEN}
        service = ServiceProcess(config, tmp_path_factory.mktemp("service"))
        service.start()
        yield service, wecom, peer
        service.stop()


def test_a_flood_of_bad_requests_gets_no_5xx_stores_nothing_and_leaves_it_working(world):
    service, wecom, peer = world
    tally = asyncio.run(
        flood(service.base_url, "/wework_callback", peer, count=500, concurrency=16,
              time_limit=60)
    )

    assert tally.requests >= 500
    assert tally.server_errors == 0 and not tally.transport_errors
    assert set(tally.statuses) <= {200, 400, 403, 405, 413}  # 200: a replay's first GET
    stats = httpx.get(
        f"{service.base_url}/admin/api/stats",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5,
    ).json()
    assert stats == {"events_by_type": {}, "pending_messages": 0}
    assert "Traceback" not in service.log()

    xml = text_message_xml(wecom.corp_id, MEMBER, "还在吗？", msg_id=1, agent_id=wecom.agent_id)
    params, body = signed_callback(peer.crypto, xml)
    response = httpx.post(
        f"{service.base_url}/wework_callback", params=params, content=body, timeout=5
    )
    assert response.status_code == 200
    wait_until(lambda: wecom.contents_for(MEMBER), timeout=15, what="the reply")
    assert "还在吗？" in wecom.contents_for(MEMBER)[0]
