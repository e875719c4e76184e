"""The AI bot's crypto and envelope against an independent implementation: wechatpy (on the
`cryptography` AES) with receiveid "", as WeCom's AI bot uses it.

Our passive replies must verify and decrypt there (signature over our timestamp and the
callback's nonce), and a callback that wechatpy encrypts must be accepted by our endpoint.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree

import httpx
import pytest
from starlette.applications import Starlette
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from adapters.inbound.wecom_aibot.wecom_aibot_callback import WeComAiBotCallback
from adapters.inbound.wecom_aibot.wecom_aibot_json import passive_reply
from application.channels.aibot.accept_aibot_message import AiBotAccepted
from application.channels.aibot.stream_board import StreamReply
from domain.url_origins import response_url_origins
from tests.support.aibot_signing import text_payload
from wecom_emulator.aibot_callbacks import BadReply, open_passive_reply

TOKEN = "aibotToken7"
AES_KEY = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
NONCE = "1372623149"


@pytest.fixture
def ours() -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, "")


@pytest.fixture
def theirs() -> WeChatCrypto:
    return WeChatCrypto(TOKEN, AES_KEY, "")


@pytest.mark.parametrize(
    "reply",
    [
        StreamReply("MSGID1", "", finish=False),
        StreamReply("MSGID1", "**周会**在周三上午十点。\n\n- 地点：3 楼", finish=True),
        StreamReply("MSGID2", "长" * 6000, finish=False),
    ],
)
def test_wechatpy_verifies_and_reads_our_passive_reply(ours, theirs, reply):
    envelope = json.loads(passive_reply(ours, reply, NONCE, "1700000123"))

    assert set(envelope) == {"encrypt", "msgsignature", "timestamp", "nonce"}
    assert (envelope["nonce"], envelope["timestamp"]) == (NONCE, "1700000123")
    plain = theirs.decrypt_message(
        {"Encrypt": envelope["encrypt"]}, envelope["msgsignature"], envelope["timestamp"], NONCE
    )
    stream = {"id": reply.stream_id, "finish": reply.finish, "content": reply.content}
    assert json.loads(plain) == {"msgtype": "stream", "stream": stream}


def test_a_reply_signed_for_another_nonce_or_sealed_for_a_corp_is_not_accepted(ours, theirs):
    envelope = json.loads(passive_reply(ours, StreamReply("M", "x", True), NONCE, "1700000123"))
    with pytest.raises(InvalidSignatureException):
        theirs.decrypt_message(
            {"Encrypt": envelope["encrypt"]}, envelope["msgsignature"], "1700000123", "999"
        )
    app_side = WeChatCrypto(TOKEN, AES_KEY, "ww1234567890abcdef")
    with pytest.raises(InvalidCorpIdException):
        app_side.decrypt_message(
            {"Encrypt": envelope["encrypt"]}, envelope["msgsignature"], "1700000123", NONCE
        )


def test_the_emulator_opens_our_passive_reply_as_wecom_and_refuses_a_forged_one(ours):
    """The emulator (sandbox, tests) checks replies as wechatpy does above."""
    body = passive_reply(ours, StreamReply("M", "x", True), NONCE, "1700000123")
    opened = {"msgtype": "stream", "stream": {"id": "M", "finish": True, "content": "x"}}
    assert open_passive_reply(ours, body, NONCE) == opened
    with pytest.raises(BadReply, match="nonce"):
        open_passive_reply(ours, body, "999")
    forged = json.dumps(json.loads(body) | {"msgsignature": "0" * 40})
    with pytest.raises(BadReply, match="msgsignature"):
        open_passive_reply(ours, forged, NONCE)
    with pytest.raises(BadReply, match="envelope"):
        open_passive_reply(ours, b"forbidden", NONCE)


async def test_our_endpoint_accepts_a_callback_that_wechatpy_encrypted(ours, theirs):
    accepted = []

    async def accept(message):
        accepted.append(message)
        return AiBotAccepted(True, StreamReply(message.msg_id, "", False))

    async def refresh(stream_id):
        raise AssertionError("not a refresh")

    payload = text_payload("MSGID9", "@小知 你好", chat_id="wrkGroupA")
    sealed = ElementTree.fromstring(
        theirs.encrypt_message(json.dumps(payload, ensure_ascii=False), NONCE)
    )
    fields = {child.tag: child.text for child in sealed}
    callback = WeComAiBotCallback(
        ours, accept, refresh, max_skew_seconds=0,
        response_origins=response_url_origins("https://qyapi.weixin.qq.com"),
    )
    transport = httpx.ASGITransport(app=Starlette(routes=callback.routes("/aibot")))
    async with httpx.AsyncClient(transport=transport, base_url="http://wecom.test") as client:
        response = await client.post(
            "/aibot",
            params={
                "msg_signature": fields["MsgSignature"],
                "timestamp": fields["TimeStamp"],
                "nonce": fields["Nonce"],
            },
            json={"encrypt": fields["Encrypt"]},
        )

    assert response.status_code == 200
    [message] = accepted
    assert (message.msg_id, message.content, message.chat_id) == (
        "MSGID9", "@小知 你好", "wrkGroupA",
    )
    envelope = response.json()
    plain = theirs.decrypt_message(
        {"Encrypt": envelope["encrypt"]}, envelope["msgsignature"], envelope["timestamp"], NONCE
    )
    assert json.loads(plain)["stream"]["id"] == "MSGID9"
