"""The WeCom emulator where it goes beyond the gateway contract: several apps in one corp and
apps of several corps, each with its own tokens, agentid and media, met by the service's real
client over HTTP on 127.0.0.1; and the answers only a raw call shows (WECOM.md)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import httpx
import pytest

from adapters.outbound.wecom.httpx_wecom_gateway import HttpxWeComGateway
from application.ports.wecom import DeliveryError
from tests.contract.test_wecom_gateway_contract import PNG, VOICE
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.fakes.token_cache import InMemoryAccessTokenCache
from tests.support.live_server import serve
from wecom_emulator import GETTOKEN, SEND, App, WeComEmulator

OTHER_CORP = "wwothercorp00000001"


@pytest.fixture
def wecom() -> WeComEmulator:
    return WeComEmulator(known_users={"alice", "bob"})


@pytest.fixture
def base_url(wecom) -> Iterator[str]:
    with serve(wecom.app) as url:
        yield url


@pytest.fixture
def gateway_for(client, base_url) -> Callable[..., HttpxWeComGateway]:
    """A gateway of one process serving several apps: one token cache and lease store."""
    cache, leases, owners = InMemoryAccessTokenCache(), InMemoryLeaseStore(), itertools.count()

    def gateway_for(app: App, agent_id: int | None = None) -> HttpxWeComGateway:
        return HttpxWeComGateway(
            client=client,
            api_base_url=base_url,
            corp_id=app.corp_id,
            corp_secret=app.corp_secret,
            agent_id=app.agent_id if agent_id is None else agent_id,
            token_cache=cache,
            leases=leases,
            owner=f"app-{next(owners)}",
            retry_initial_wait=0.001,
            retry_max_wait=0.01,
        )

    return gateway_for


async def token(client, base_url, app: App) -> str:
    params = {"corpid": app.corp_id, "corpsecret": app.corp_secret}
    answer = (await client.get(f"{base_url}/cgi-bin/gettoken", params=params)).json()
    return answer["access_token"]


async def send(client, base_url, access_token: str, **body) -> dict:
    message = {"touser": "alice", "msgtype": "text", "text": {"content": "hi"}} | body
    url = f"{base_url}/cgi-bin/message/send"
    return (await client.post(url, params={"access_token": access_token}, json=message)).json()


class TestSeveralApps:
    async def test_each_app_of_a_corp_has_its_own_token_and_sends_as_itself(
        self, wecom, gateway_for
    ):
        first, second = wecom.first_app, wecom.add_app(1000003)

        await gateway_for(first).send_text("alice", "from the first app")
        await gateway_for(second).send_text("alice", "from the second app")
        await gateway_for(second).send_text("bob", "again from the second")

        assert [m.content for m in wecom.sent_by(first)] == ["from the first app"]
        assert [m.touser for m in wecom.sent_by(second)] == ["alice", "bob"]
        assert {m.agentid for m in wecom.sent_by(second)} == {1000003}
        assert (wecom.calls(GETTOKEN, first), wecom.calls(GETTOKEN, second)) == (1, 1)
        assert len(set(wecom.issued_tokens)) == 2

    async def test_an_app_sending_with_another_app_s_agentid_is_refused_for_good(
        self, wecom, gateway_for
    ):
        other = wecom.add_app(1000003)

        with pytest.raises(DeliveryError) as raised:
            await gateway_for(wecom.first_app, agent_id=other.agent_id).send_text("alice", "hi")

        assert (raised.value.errcode, raised.value.permanent) == (301002, True)
        assert "agent_id is not the app whose corp_secret is configured" in raised.value.reason
        assert wecom.sent == []
        assert wecom.calls(SEND, wecom.first_app) == 1 and wecom.calls(SEND, other) == 0

    async def test_an_app_of_another_corp_with_the_same_agentid_is_another_app(
        self, wecom, gateway_for
    ):
        elsewhere = wecom.add_app(wecom.agent_id, corp_id=OTHER_CORP)

        await gateway_for(elsewhere).send_text("bob", "from the other corp")

        [sent] = wecom.sent
        assert (sent.corp_id, sent.agentid, sent.touser) == (OTHER_CORP, wecom.agent_id, "bob")
        assert wecom.sent_by(wecom.first_app) == []
        assert wecom.calls(GETTOKEN, wecom.first_app) == 0

    async def test_media_of_one_corp_is_unknown_to_another(self, wecom, gateway_for):
        elsewhere = wecom.add_app(1000002, corp_id=OTHER_CORP)
        wecom.add_media("voice-1", VOICE)
        mine, theirs = gateway_for(wecom.first_app), gateway_for(elsewhere)

        assert await mine.download_media("voice-1") == VOICE
        with pytest.raises(DeliveryError) as raised:
            await theirs.download_media("voice-1")
        assert (raised.value.errcode, raised.value.permanent) == (40007, True)

        uploaded = await theirs.upload_image(PNG, "drawing.png")
        with pytest.raises(DeliveryError):
            await mine.send_image("alice", uploaded)
        await theirs.send_image("alice", uploaded)
        assert wecom.images_for("alice") == [uploaded]

    async def test_an_expired_token_of_one_app_leaves_the_other_s_alone(
        self, wecom, gateway_for
    ):
        second = wecom.add_app(1000003)
        first_gateway, second_gateway = gateway_for(wecom.first_app), gateway_for(second)
        await first_gateway.send_text("alice", "1")
        await second_gateway.send_text("alice", "2")

        wecom.expire_tokens(second)
        await first_gateway.send_text("alice", "3")
        await second_gateway.send_text("alice", "4")

        assert (wecom.calls(GETTOKEN, wecom.first_app), wecom.calls(GETTOKEN, second)) == (1, 2)
        assert wecom.contents_for("alice") == ["1", "2", "3", "4"]

    def test_an_app_cannot_be_added_twice(self, wecom):
        with pytest.raises(ValueError):
            wecom.add_app(wecom.agent_id)


class TestRawAnswers:
    async def test_a_token_is_reused_until_it_expires_and_an_unknown_one_is_40014(
        self, client, base_url, wecom
    ):
        first = await token(client, base_url, wecom.first_app)
        assert await token(client, base_url, wecom.first_app) == first
        assert (await send(client, base_url, "not-a-token"))["errcode"] == 40014
        assert (await send(client, base_url, ""))["errcode"] == 41001
        wecom.expire_tokens()
        assert (await send(client, base_url, first))["errcode"] == 42001
        assert await token(client, base_url, wecom.first_app) != first

    @pytest.mark.parametrize(("known_corp", "errcode"), [(False, 40013), (True, 40001)])
    async def test_gettoken_refuses_an_unknown_corp_or_secret(
        self, client, base_url, wecom, known_corp, errcode
    ):
        corp_id = wecom.corp_id if known_corp else "wwnosuchcorp"
        params = {"corpid": corp_id, "corpsecret": "not-the-secret"}
        answer = (await client.get(f"{base_url}/cgi-bin/gettoken", params=params)).json()
        assert answer["errcode"] == errcode
        assert "access_token" not in answer

    async def test_the_agentid_must_be_the_token_s_app_s_number(self, client, base_url, wecom):
        other = wecom.add_app(1000003)
        access_token = await token(client, base_url, other)

        as_text = await send(client, base_url, access_token, agentid="1000003")
        as_first = await send(client, base_url, access_token, agentid=wecom.agent_id)
        as_itself = await send(client, base_url, access_token, agentid=1000003)

        assert (as_text["errcode"], as_first["errcode"], as_itself["errcode"]) == (40056, 301002, 0)
        assert [m.agentid for m in wecom.sent] == [1000003]

    async def test_markdown_is_taken_and_text_past_2048_bytes_is_cut(
        self, client, base_url, wecom
    ):
        access_token = await token(client, base_url, wecom.first_app)
        long = "长" * 1000  # 3000 bytes of UTF-8

        await send(client, base_url, access_token, agentid=wecom.agent_id, text={"content": long})
        markdown = {"msgtype": "markdown", "markdown": {"content": "**粗体**"}}
        answer = await send(client, base_url, access_token, agentid=wecom.agent_id, **markdown)

        assert answer["errcode"] == 0
        assert wecom.contents_for("alice") == ["长" * 682, "**粗体**"]
        assert [m.msgtype for m in wecom.sent] == ["text", "markdown"]

    @pytest.mark.parametrize(
        ("body", "errcode"),
        [
            ({"msgtype": "voice", "voice": {"media_id": "x"}}, 40008),
            ({"text": {"content": ""}}, 44004),
            ({"msgtype": "image", "image": {"media_id": "never-uploaded"}}, 40007),
            ({"touser": "ghost"}, 81013),
        ],
    )
    async def test_a_message_wecom_cannot_deliver_is_refused(
        self, client, base_url, wecom, body, errcode
    ):
        access_token = await token(client, base_url, wecom.first_app)

        answer = await send(client, base_url, access_token, agentid=wecom.agent_id, **body)

        assert answer["errcode"] == errcode
        assert "from ip: 127.0.0.1" in answer["errmsg"]
        assert wecom.sent == []

    async def test_an_upload_that_is_no_jpg_or_png_is_refused(self, client, base_url, wecom):
        access_token = await token(client, base_url, wecom.first_app)

        answer = await client.post(
            f"{base_url}/cgi-bin/media/upload",
            params={"access_token": access_token, "type": "image"},
            files={"media": ("voice.png", VOICE, "image/png")},
        )

        assert answer.json()["errcode"] == 40005
        assert wecom.uploads == []

    async def test_what_is_delivered_is_told_to_the_listener(self):
        told = []
        wecom = WeComEmulator(chats={"wrkchat": "群"}, on_delivery=told.append)
        with serve(wecom.app) as base_url:
            async with httpx.AsyncClient(timeout=5) as client:
                access_token = await token(client, base_url, wecom.first_app)
                await send(client, base_url, access_token, agentid=wecom.agent_id, touser="a|b")
                await client.post(
                    f"{base_url}/cgi-bin/appchat/send",
                    params={"access_token": access_token},
                    json={"chatid": "wrkchat", "msgtype": "text", "text": {"content": "大家好"}},
                )

        assert [(m.touser, m.chatid, m.content) for m in told] == [
            ("a", "", "hi"), ("b", "", "hi"), ("", "wrkchat", "大家好")
        ]
        assert told == wecom.sent + wecom.chat_sent
