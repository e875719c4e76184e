"""Our callback crypto against an independent implementation: wechatpy on `cryptography`.

If both sides shared pycryptodome, a wrong mode or IV could agree with itself; wechatpy's own
framing (its random prefix, its 32-byte PKCS#7, its length field) on another AES library cannot.
"""

from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy.crypto import base as wechatpy_backend
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from adapters.inbound.callback.callback_errors import ReceiveIdMismatch
from adapters.inbound.callback.wecom_crypto import WeComCrypto
from wecom_emulator.callbacks import signed_callback, signed_echo, text_message_xml

TOKEN = "interopToken42"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP_ID = "ww1234567890abcdef"
TIMESTAMP = "1700000000"
NONCE = "1372623149"

MESSAGES = [
    "",
    "a",
    "hello",
    "你好，企业微信",
    "emoji 👋🏽 and ]]> and <xml>",
    *("m" * n for n in range(10, 75)),  # every pad value from 1 to 32, twice
]


@pytest.fixture
def ours() -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, CORP_ID)


@pytest.fixture
def theirs() -> WeChatCrypto:
    return WeChatCrypto(TOKEN, AES_KEY, CORP_ID)


def reply_fields(xml: str) -> dict[str, str]:
    return {element.tag: element.text or "" for element in ElementTree.fromstring(xml)}


def test_wechatpy_runs_on_a_different_aes_library_than_ours():
    assert wechatpy_backend.WeChatCipher.__module__ == "wechatpy.crypto.cryptography", (
        "install `cryptography`: otherwise wechatpy falls back to pycryptodome, like us"
    )


@pytest.mark.parametrize("msg", MESSAGES)
def test_wechatpy_reads_what_we_encrypt(ours, theirs, msg):
    encrypted = ours.encrypt(msg)
    signature = ours.signature(TIMESTAMP, NONCE, encrypted)
    assert theirs.decrypt_message({"Encrypt": encrypted}, signature, TIMESTAMP, NONCE) == msg


@pytest.mark.parametrize("msg", MESSAGES)
def test_we_read_what_wechatpy_encrypts(ours, theirs, msg):
    reply = reply_fields(theirs.encrypt_message(msg, NONCE, TIMESTAMP))
    plain = ours.open_message(
        reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"], reply["Encrypt"]
    )
    assert plain == msg.encode("utf-8")


def test_signatures_agree(ours, theirs):
    reply = reply_fields(theirs.encrypt_message("<xml/>", NONCE, TIMESTAMP))
    assert ours.signature(TIMESTAMP, NONCE, reply["Encrypt"]) == reply["MsgSignature"]


def test_wechatpy_accepts_our_signed_callback_body(ours, theirs):
    xml = text_message_xml(CORP_ID, "zhangsan", "你好", msg_id=1, agent_id=1000002)
    params, body = signed_callback(ours, xml)
    decrypted = theirs.decrypt_message(
        body.decode(), params["msg_signature"], params["timestamp"], params["nonce"]
    )
    assert decrypted == xml


def test_wechatpy_rejects_our_signature_over_another_payload(ours, theirs):
    encrypted = ours.encrypt("hi")
    signature = ours.signature(TIMESTAMP, NONCE, ours.encrypt("hi"))
    with pytest.raises(InvalidSignatureException):
        theirs.decrypt_message({"Encrypt": encrypted}, signature, TIMESTAMP, NONCE)


def test_url_verification_we_sign_wechatpy_answers(ours, theirs):
    params = signed_echo(ours, "8061935623517474815", timestamp=1700000000, nonce=NONCE)
    answer = theirs.check_signature(
        params["msg_signature"], params["timestamp"], params["nonce"], params["echostr"]
    )
    assert answer == "8061935623517474815"


def test_url_verification_wechatpy_signs_we_answer(ours, theirs):
    reply = reply_fields(theirs.encrypt_message("8061935623517474815", NONCE, TIMESTAMP))
    answer = ours.open_echo(
        reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"], reply["Encrypt"]
    )
    assert answer == "8061935623517474815"


def test_both_refuse_the_other_corps_messages(ours):
    foreign_theirs = WeChatCrypto(TOKEN, AES_KEY, "ww-other-corp")
    reply = reply_fields(foreign_theirs.encrypt_message("hi", NONCE, TIMESTAMP))
    with pytest.raises(ReceiveIdMismatch):
        ours.open_message(reply["MsgSignature"], TIMESTAMP, NONCE, reply["Encrypt"])

    encrypted = ours.encrypt("hi")
    with pytest.raises(InvalidCorpIdException):
        foreign_theirs.decrypt_message(
            {"Encrypt": encrypted}, ours.signature(TIMESTAMP, NONCE, encrypted), TIMESTAMP, NONCE
        )


_UNICODE = st.text(max_size=500)


@settings(max_examples=50)
@given(msg=_UNICODE, nonce=st.text(alphabet="0123456789abcdef", min_size=1, max_size=16))
def test_any_unicode_message_round_trips_both_ways(msg, nonce):
    ours = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    theirs = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)

    encrypted = ours.encrypt(msg)
    signature = ours.signature(TIMESTAMP, nonce, encrypted)
    assert theirs.decrypt_message({"Encrypt": encrypted}, signature, TIMESTAMP, nonce) == msg

    reply = reply_fields(theirs.encrypt_message(msg, nonce, TIMESTAMP))
    assert reply["MsgSignature"] == ours.signature(TIMESTAMP, nonce, reply["Encrypt"])
    assert (
        ours.open_message(reply["MsgSignature"], TIMESTAMP, nonce, reply["Encrypt"]) == msg.encode()
    )
