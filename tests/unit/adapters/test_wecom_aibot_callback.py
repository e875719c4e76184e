"""The AI bot's callback endpoint in-process (httpx over ASGI): what it accepts, refuses and
answers, with a recording intake and refresh."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from starlette.applications import Starlette

from adapters.inbound.callback.clock_skew import ClockSkewWatch
from adapters.inbound.callback.wecom_crypto import WeComCrypto
from adapters.inbound.wecom_aibot.wecom_aibot_callback import WeComAiBotCallback
from application.channels.aibot.accept_aibot_message import AiBotAccepted
from application.channels.aibot.stream_board import StreamReply
from domain.url_origins import WECOM_API_ORIGIN, response_url_origins
from tests.support.aibot_signing import AiBotPeer, refresh_payload, text_payload
from wecom_emulator.callbacks import signed_echo

TOKEN, AES_KEY = "BotToken42", "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
PATH = "/wework_aibot"


class Recorder:
    def __init__(self):
        self.messages = []
        self.refreshed = []
        self.answer = True
        self.fail = False

    async def accept(self, message) -> AiBotAccepted:
        if self.fail:
            raise RuntimeError("database is locked")
        is_new = message.dedup_key not in {m.dedup_key for m in self.messages}
        self.messages.append(message)
        reply = StreamReply(message.msg_id, "", False) if self.answer else None
        return AiBotAccepted(is_new, reply)

    async def refresh(self, stream_id: str) -> StreamReply:
        self.refreshed.append(stream_id)
        return StreamReply(stream_id, "写到一半", finish=False)


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def peer():
    return AiBotPeer(TOKEN, AES_KEY)


@pytest.fixture
async def client(recorder):
    callback = WeComAiBotCallback(
        WeComCrypto(TOKEN, AES_KEY, ""), recorder.accept, recorder.refresh, max_skew_seconds=300,
        response_origins=response_url_origins(WECOM_API_ORIGIN),
    )
    app = Starlette(routes=callback.routes(PATH))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wecom.test") as c:
        yield c


async def post(client, signed):
    params, body = signed
    return await client.post(PATH, params=params, content=body)


async def test_url_verification_answers_the_plain_echo(client, peer):
    response = await client.get(PATH, params=signed_echo(peer.crypto, "echo-123"))
    assert (response.status_code, response.text) == (200, "echo-123")


async def test_a_group_mention_is_recorded_and_answered_with_a_signed_stream_opening(
    client, peer, recorder
):
    payload = text_payload("MSGID1", "@小知 周会几点？", chat_id="wrkGroupA")
    params, body = peer.signed(payload, nonce="55555")
    response = await client.post(PATH, params=params, content=body)

    assert response.status_code == 200
    reply = peer.open_reply(response.content, nonce="55555")
    opening = {"id": "MSGID1", "finish": False, "content": ""}
    assert reply == {"msgtype": "stream", "stream": opening}
    [message] = recorder.messages
    assert (message.msg_type, message.content) == ("text", "@小知 周会几点？")
    assert message.chat_id == "wrkGroupA"
    assert (message.from_user, message.channel) == ("zhangsan", "aibot:default")
    assert message.response_url == payload["response_url"]
    assert abs(message.create_time - time.time()) < 5


async def test_a_refresh_gets_the_streams_current_content(client, peer, recorder):
    params, body = peer.signed(refresh_payload("MSGID1"), nonce="777")
    response = await client.post(PATH, params=params, content=body)

    assert recorder.refreshed == ["MSGID1"] and recorder.messages == []
    stream = peer.open_reply(response.content, nonce="777")["stream"]
    assert stream == {"id": "MSGID1", "finish": False, "content": "写到一半"}


async def test_an_unanswered_message_or_an_event_gets_an_empty_200(client, peer, recorder):
    recorder.answer = False
    response = await post(client, peer.signed(text_payload("M2", "hi", chat_id="wrkOther")))
    event = {"msgid": "E1", "msgtype": "event", "event": {"eventtype": "enter_chat"}}
    entered = await post(client, peer.signed(event))

    assert (response.status_code, response.content) == (200, b"")
    assert (entered.status_code, entered.content) == (200, b"")
    assert [m.msg_id for m in recorder.messages] == ["M2"]


@pytest.mark.parametrize(
    ("msg_type", "body", "content"),
    [
        ("voice", {"content": "明天几点开会"}, "明天几点开会"),
        (
            "mixed",
            {"msg_item": [
                {"msgtype": "text", "text": {"content": "@小知 这是什么"}},
                {"msgtype": "image", "image": {"url": "https://example.invalid/i"}},
            ]},
            "@小知 这是什么",
        ),
        ("image", {"url": "https://example.invalid/i"}, ""),
        ("file", {"url": "https://example.invalid/f"}, ""),
    ],
)
async def test_each_kind_arrives_as_the_protocol_delivers_it(
    client, peer, recorder, msg_type, body, content
):
    payload = text_payload("M3", "", chat_id="wrkGroupA")
    del payload["text"]
    payload.update(msgtype=msg_type, **{msg_type: body})
    assert (await post(client, peer.signed(payload))).status_code == 200
    [message] = recorder.messages
    assert (message.msg_type, message.content) == (msg_type, content)


def without(key: str) -> dict:
    payload = text_payload("M4", "hi")
    del payload[key]
    return payload


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (without("msgid"), 400),
        (without("from"), 400),
        ({**text_payload("M4", "hi"), "chattype": "channel"}, 400),
        ({**text_payload("M4", "hi"), "chattype": "group"}, 400),  # a group without chatid
        ({**text_payload("M4", "hi"), "text": {"content": 42}}, 400),
        ({**text_payload("M4", "hi"), "response_url": "file:///etc/passwd"}, 400),
        ({**text_payload("M4", "hi"), "msgid": "x" * 65}, 400),
        ({"msgtype": "stream", "stream": {}}, 400),
    ],
)
async def test_a_malformed_message_is_refused_and_nothing_recorded(
    client, peer, recorder, payload, status
):
    response = await post(client, peer.signed(payload))
    assert response.status_code == status and response.text == "bad request"
    assert recorder.messages == [] and recorder.refreshed == []


async def test_a_forged_or_foreign_callback_is_refused(client, peer, recorder, caplog):
    params, body = peer.signed(text_payload("M5", "hi"))
    forged = await client.post(PATH, params={**params, "msg_signature": "0" * 40}, content=body)
    app_crypto = WeComCrypto(TOKEN, AES_KEY, "ww_a_corp_id")  # the app's receiveid, not ""
    encrypted = app_crypto.encrypt(json.dumps(text_payload("M6", "hi")))
    ts, nonce = str(int(time.time())), "1"
    foreign = await client.post(
        PATH,
        params={"msg_signature": app_crypto.signature(ts, nonce, encrypted), "timestamp": ts,
                "nonce": nonce},
        content=json.dumps({"encrypt": encrypted}),
    )
    garbage = await client.post(PATH, params=params, content=b"<xml>not json</xml>")

    assert [forged.status_code, foreign.status_code, garbage.status_code] == [403, 400, 400]
    assert recorder.messages == []
    assert "receiveid is not the configured one" in caplog.text


async def test_a_store_that_cannot_record_gets_503_so_wecom_retries(client, peer, recorder):
    recorder.fail = True
    response = await post(client, peer.signed(text_payload("M7", "hi")))
    assert response.status_code == 503


async def test_a_retry_is_answered_with_the_same_stream(client, peer, recorder):
    signed = peer.signed(text_payload("M8", "hi"))
    first = peer.open_reply((await post(client, signed)).content, signed[0]["nonce"])
    second = peer.open_reply((await post(client, signed)).content, signed[0]["nonce"])
    assert first["stream"]["id"] == second["stream"]["id"] == "M8"


async def test_signed_callbacks_refused_for_a_slow_clock_are_reported_like_the_apps(
    recorder, peer, caplog
):
    watch = ClockSkewWatch()
    callback = WeComAiBotCallback(
        WeComCrypto(TOKEN, AES_KEY, ""), recorder.accept, recorder.refresh, max_skew_seconds=300,
        response_origins=response_url_origins(WECOM_API_ORIGIN),
        clock=lambda: time.time() - 600, clock_watch=watch,
    )
    transport = httpx.ASGITransport(app=Starlette(routes=callback.routes(PATH)))
    async with httpx.AsyncClient(transport=transport, base_url="http://wecom.test") as client:
        for n in range(3):
            response = await post(client, peer.signed(text_payload(f"MSG{n}", "在吗")))
            assert response.status_code == 403
    assert recorder.messages == []
    assert watch.current() is not None
    assert "ACTION NEEDED: this server's clock is" in caplog.text
