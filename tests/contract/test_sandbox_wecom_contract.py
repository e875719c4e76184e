"""The sandbox's emulated WeCom holds to the WeComGateway contract with the service's real
client, HttpxWeComGateway, over HTTP on 127.0.0.1: what the sandbox shows is what the
service would do against WeCom. Plus the refusals only a real API has: a wrong secret, a
token WeCom does not know, an upload that is no picture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.outbound.wecom.httpx_wecom_gateway import HttpxWeComGateway
from application.ports.wecom import DeliveryError
from sandbox.chat_log import group_chat, private_chat
from sandbox.corp import Corp, Group
from sandbox.emulator import SandboxEmulator
from sandbox.media import Media
from sandbox.settings import SandboxKeys
from tests.contract.test_wecom_gateway_contract import (
    CHAT,
    CHATS,
    MEMBERS,
    NAMES,
    VOICE,
    VOICE_ID,
    Delivered,
    WeComGatewayContract,
)
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.fakes.token_cache import InMemoryAccessTokenCache
from tests.support.live_server import serve

CORP = Corp(
    corp_id="wwsandboxcontract01",
    agent_id=1000009,
    app_name="小知",
    members={member: NAMES[member] for member in MEMBERS},
    groups=(Group(CHAT, CHATS[CHAT], MEMBERS, whitelisted=True),),
    group_prefixes=("小知",),
)


@pytest.fixture
def keys() -> SandboxKeys:
    return SandboxKeys()


@pytest.fixture
def emulator(keys) -> SandboxEmulator:
    # No service behind it: the gateway's calls are all this contract makes.
    emulator = SandboxEmulator(CORP, keys, service_url="http://127.0.0.1:9")
    emulator.media.put(VOICE_ID, Media(VOICE, "audio/amr", "voice.amr"))
    return emulator


@pytest.fixture
def wecom_url(emulator) -> Iterator[str]:
    with serve(emulator.app) as url:
        yield url


def make_gateway(client, wecom_url, secret: str) -> HttpxWeComGateway:
    return HttpxWeComGateway(
        client=client,
        api_base_url=wecom_url,
        corp_id=CORP.corp_id,
        corp_secret=secret,
        agent_id=CORP.agent_id,
        token_cache=InMemoryAccessTokenCache(),
        leases=InMemoryLeaseStore(),
        owner="contract",
        retry_initial_wait=0.001,
        retry_max_wait=0.01,
    )


class TestHttpxGatewayAgainstTheSandbox(WeComGatewayContract):
    @pytest.fixture
    def gateway(self, client, wecom_url, keys) -> HttpxWeComGateway:
        return make_gateway(client, wecom_url, keys.corp_secret)

    @pytest.fixture
    def delivered(self, emulator) -> Delivered:
        def delivered(recipient: str) -> list[str]:
            said = emulator.log.from_app(private_chat(recipient))
            said += emulator.log.from_app(group_chat(recipient))
            return [bubble.text for bubble in said if bubble.kind == "text"]

        return delivered

    @pytest.fixture
    def images_delivered(self, emulator) -> Delivered:
        def images_delivered(recipient: str) -> list[str]:
            said = emulator.log.from_app(private_chat(recipient))
            said += emulator.log.from_app(group_chat(recipient))
            return [bubble.media_id for bubble in said if bubble.kind == "image"]

        return images_delivered


async def test_a_wrong_secret_is_refused_for_good_with_wecom_s_code(client, wecom_url):
    gateway = make_gateway(client, wecom_url, "not-the-sandbox-secret-0123456789")
    with pytest.raises(DeliveryError) as refused:
        await gateway.send_text("alice", "hi")
    assert (refused.value.errcode, refused.value.permanent) == (40001, True)


async def test_an_unknown_token_is_40014_and_a_fetched_one_is_reused(client, wecom_url, keys):
    bad = await client.get(f"{wecom_url}/cgi-bin/user/get", params={"access_token": "x"})
    assert bad.json()["errcode"] == 40014
    params = {"corpid": CORP.corp_id, "corpsecret": keys.corp_secret}
    first = (await client.get(f"{wecom_url}/cgi-bin/gettoken", params=params)).json()
    second = (await client.get(f"{wecom_url}/cgi-bin/gettoken", params=params)).json()
    assert first["access_token"] == second["access_token"]
    assert 0 < second["expires_in"] <= 7200


async def test_an_upload_that_is_no_jpg_or_png_is_refused(client, wecom_url, keys):
    params = {"corpid": CORP.corp_id, "corpsecret": keys.corp_secret}
    token = (await client.get(f"{wecom_url}/cgi-bin/gettoken", params=params)).json()
    answer = await client.post(
        f"{wecom_url}/cgi-bin/media/upload",
        params={"access_token": token["access_token"], "type": "image"},
        files={"media": ("voice.png", VOICE, "image/png")},
    )
    assert answer.json()["errcode"] == 40005

