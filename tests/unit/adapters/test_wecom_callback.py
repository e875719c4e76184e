"""The callback endpoint in-process (httpx over ASGI, no socket), with a recording accept."""

from __future__ import annotations

import base64
import time

import httpx
import pytest
from starlette.applications import Starlette

from adapters.inbound.callback.callback_limits import MAX_ENVELOPE_BYTES
from adapters.inbound.callback.wecom_crypto import WeComCrypto
from adapters.inbound.wecom_app.wecom_callback import WeComCallback
from wecom_emulator.callbacks import (
    event_xml,
    signed_callback,
    signed_echo,
    text_message_xml,
)

CORP_ID, AGENT_ID = "ww1234567890", 1000001
TOKEN, AES_KEY = "Token123", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


class RecordingAccept:
    def __init__(self):
        self.messages = []
        self.fail = False

    async def __call__(self, message) -> bool:
        if self.fail:
            raise RuntimeError("database is locked")
        is_new = message.dedup_key not in {m.dedup_key for m in self.messages}
        self.messages.append(message)
        return is_new


@pytest.fixture
def accept():
    return RecordingAccept()


@pytest.fixture
def crypto():
    return WeComCrypto(TOKEN, AES_KEY, CORP_ID)


def in_process(callback: WeComCallback, path: str = "/wework_callback") -> httpx.AsyncClient:
    app = Starlette(routes=callback.routes(path))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wecom.test")


@pytest.fixture
async def client(crypto, accept):
    async with in_process(WeComCallback(crypto, accept, AGENT_ID, max_skew_seconds=300)) as c:
        yield c


async def post(client, params, body):
    return await client.post("/wework_callback", params=params, content=body)


def text_callback(crypto, content="你好", msg_id=1, **kwargs):
    xml = text_message_xml(CORP_ID, "zhangsan", content, msg_id=msg_id, agent_id=AGENT_ID)
    return signed_callback(crypto, xml, **kwargs)


async def test_url_verification_answers_the_plain_echo(client, crypto):
    response = await client.get(
        "/wework_callback", params=signed_echo(crypto, "1616140317555161061")
    )
    assert response.status_code == 200
    assert response.content == b"1616140317555161061"


async def test_url_verification_with_a_bad_signature_is_forbidden(client, crypto):
    params = {**signed_echo(crypto, "123"), "msg_signature": "f" * 40}
    assert (await client.get("/wework_callback", params=params)).status_code == 403


async def test_a_message_is_accepted_with_an_empty_200(client, crypto, accept):
    response = await post(client, *text_callback(crypto))
    assert (response.status_code, response.content) == (200, b"")
    [message] = accept.messages
    assert (message.from_user, message.content, message.msg_id) == ("zhangsan", "你好", "1")


async def test_a_retry_is_acknowledged_too(client, crypto, accept):
    params, body = text_callback(crypto)
    assert (await post(client, params, body)).status_code == 200
    assert (await post(client, params, body)).status_code == 200
    assert len({m.dedup_key for m in accept.messages}) == 1


async def test_an_event_without_msg_id_is_accepted(client, crypto, accept):
    xml = event_xml(CORP_ID, "zhangsan", "enter_agent", agent_id=AGENT_ID)
    assert (await post(client, *signed_callback(crypto, xml))).status_code == 200
    assert accept.messages[0].msg_type == "event"


@pytest.mark.parametrize("drop", ["msg_signature", "timestamp", "nonce"])
async def test_missing_query_parameters_are_bad_requests(client, crypto, accept, drop):
    params, body = text_callback(crypto)
    del params[drop]
    assert (await post(client, params, body)).status_code == 400
    assert accept.messages == []


async def test_a_repeated_query_parameter_is_a_bad_request(client, crypto, accept):
    params, body = text_callback(crypto)
    query = list(params.items()) + [("nonce", "other")]
    assert (await client.post("/wework_callback", params=query, content=body)).status_code == 400
    assert accept.messages == []


async def test_a_bad_signature_is_forbidden_and_logged_with_its_reason(
    client, crypto, accept, caplog
):
    params, body = text_callback(crypto)
    params["msg_signature"] = "0" * 40
    assert (await post(client, params, body)).status_code == 403
    assert accept.messages == []
    assert "refused with 403 (-40001)" in caplog.text


async def test_a_stale_timestamp_is_forbidden(client, crypto, accept):
    response = await post(client, *text_callback(crypto, timestamp=int(time.time()) - 3600))
    assert response.status_code == 403
    assert accept.messages == []


async def test_skew_zero_turns_the_check_off(crypto, accept):
    params, body = text_callback(crypto, timestamp=int(time.time()) - 30 * 86400)
    async with in_process(WeComCallback(crypto, accept, AGENT_ID, max_skew_seconds=0)) as c:
        assert (await post(c, params, body)).status_code == 200


async def test_another_corps_message_is_refused(client, accept):
    other = WeComCrypto(TOKEN, AES_KEY, "wwOTHERCORP")
    xml = text_message_xml("wwOTHERCORP", "x", "hi", msg_id=1, agent_id=AGENT_ID)
    assert (await post(client, *signed_callback(other, xml))).status_code == 400
    assert accept.messages == []


async def test_another_agents_message_is_refused(client, crypto, accept):
    xml = text_message_xml(CORP_ID, "zhangsan", "hi", msg_id=1, agent_id=AGENT_ID + 1)
    assert (await post(client, *signed_callback(crypto, xml))).status_code == 400
    assert accept.messages == []


async def test_an_oversized_body_is_refused_before_it_is_parsed(client, crypto, accept):
    params, _ = text_callback(crypto)
    body = b"<xml><Encrypt>" + b"A" * MAX_ENVELOPE_BYTES + b"</Encrypt></xml>"
    assert (await post(client, params, body)).status_code == 413
    assert accept.messages == []


async def test_a_body_that_is_not_xml_is_a_bad_request_that_reveals_nothing(client, crypto):
    params, _ = text_callback(crypto)
    response = await post(client, params, b"{not xml")
    assert (response.status_code, response.text) == (400, "bad request")


@pytest.mark.parametrize("blocks_cut", [1, 2])
async def test_a_ciphertext_cut_short_is_a_logged_bad_request(
    client, crypto, accept, caplog, blocks_cut
):
    xml = text_message_xml(CORP_ID, "zhangsan", "hi", msg_id=1, agent_id=AGENT_ID)
    ciphertext = base64.b64decode(crypto.encrypt(xml))
    cut = base64.b64encode(ciphertext[: -16 * blocks_cut]).decode()
    timestamp = str(int(time.time()))
    params = {"msg_signature": crypto.signature(timestamp, "2", cut), "timestamp": timestamp,
              "nonce": "2"}
    response = await post(client, params, f"<xml><Encrypt>{cut}</Encrypt></xml>".encode())
    assert (response.status_code, response.text) == (400, "bad request")
    assert accept.messages == []
    assert "refused with 400" in caplog.text


async def test_a_store_failure_is_503_so_that_wecom_retries(client, crypto, accept):
    accept.fail = True
    response = await post(client, *text_callback(crypto))
    assert response.status_code == 503
