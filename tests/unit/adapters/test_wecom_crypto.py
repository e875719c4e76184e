import base64
import contextlib

import pytest
from Crypto.Cipher import AES
from Crypto.Util.Padding import unpad
from hypothesis import given
from hypothesis import strategies as st

from adapters.inbound.callback.callback_errors import (
    BadBuffer,
    BadSignature,
    CallbackRejected,
    DecryptFailed,
    InvalidBase64,
    ReceiveIdMismatch,
)
from adapters.inbound.callback.wecom_crypto import WeComCrypto

# The public sample from WeCom's documentation (developer.work.weixin.qq.com/document/path/90968).
TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "wx5823bf96d3bd56c7"
SAMPLE_POST = {
    "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
    "timestamp": "1409659813",
    "nonce": "1372623149",
    "encrypted": (
        "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3Qczc"
        "dCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qL"
        "jvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LU"
        "Mnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUP"
        "A3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ"
        "2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
    ),
}
SAMPLE_GET = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": (
        "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
    ),
}
KEY = base64.b64decode(AES_KEY + "=")


@pytest.fixture
def crypto() -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, CORP_ID)


def raw_ciphertext(padded_plaintext: bytes) -> str:
    """Encrypts already padded bytes, to build payloads our encrypt() would never produce."""
    return base64.b64encode(
        AES.new(KEY, AES.MODE_CBC, iv=KEY[:16]).encrypt(padded_plaintext)
    ).decode()


def plaintext(
    msg: bytes, receive_id: bytes = CORP_ID.encode(), msg_len: int | None = None
) -> bytes:
    length = len(msg) if msg_len is None else msg_len
    return b"R" * 16 + length.to_bytes(4, "big") + msg + receive_id


def pkcs7(data: bytes, pad_len: int) -> bytes:
    return data + bytes([pad_len]) * pad_len


# --- WeCom's own sample ---------------------------------------------------------------------


def test_official_sample_message_decrypts(crypto):
    msg = crypto.open_message(
        SAMPLE_POST["msg_signature"],
        SAMPLE_POST["timestamp"],
        SAMPLE_POST["nonce"],
        SAMPLE_POST["encrypted"],
    )
    assert b"<Content><![CDATA[hello]]></Content>" in msg
    assert b"<MsgId>4561255354251345929</MsgId>" in msg


def test_official_sample_url_verification_answers_the_plain_echo(crypto):
    assert crypto.open_echo(**SAMPLE_GET) == "1616140317555161061"


def test_encryption_reproduces_the_official_sample_byte_for_byte(crypto):
    # The IV only shapes the discarded random prefix, so no round trip can catch a wrong one;
    # reusing the sample's own prefix and matching WeCom's ciphertext exactly can.
    padded = AES.new(KEY, AES.MODE_CBC, iv=KEY[:16]).decrypt(
        base64.b64decode(SAMPLE_POST["encrypted"])
    )
    prefix = padded[:16]
    msg = crypto.decrypt(SAMPLE_POST["encrypted"])
    assert crypto.encrypt(msg, random_prefix=prefix) == SAMPLE_POST["encrypted"]


def test_signature_matches_the_official_sample(crypto):
    signature = crypto.signature(
        SAMPLE_GET["timestamp"], SAMPLE_GET["nonce"], SAMPLE_GET["echostr"]
    )
    assert signature == SAMPLE_GET["msg_signature"]


# --- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("msg", ["", "hello", "你好，企业微信 👋", "<xml>" + "x" * 5000 + "</xml>"])
def test_encrypt_then_decrypt_returns_the_message(crypto, msg):
    assert crypto.decrypt(crypto.encrypt(msg)) == msg.encode("utf-8")


def test_bytes_are_encrypted_as_is(crypto):
    assert crypto.decrypt(crypto.encrypt(b"\x00\xff binary")) == b"\x00\xff binary"


def test_each_encryption_uses_a_fresh_random_prefix(crypto):
    assert crypto.encrypt("same") != crypto.encrypt("same")


def test_a_given_random_prefix_makes_encryption_deterministic(crypto):
    prefix = bytes(range(16))
    assert crypto.encrypt("same", random_prefix=prefix) == crypto.encrypt(
        "same", random_prefix=prefix
    )


def test_random_prefix_must_be_16_bytes(crypto):
    with pytest.raises(ValueError):
        crypto.encrypt("x", random_prefix=b"short")


@given(st.binary(max_size=300))
def test_round_trip_for_any_bytes(msg):
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    assert crypto.decrypt(crypto.encrypt(msg)) == msg


def test_the_ai_bot_receive_id_is_empty():
    bot = WeComCrypto(TOKEN, AES_KEY, "")
    assert bot.decrypt(bot.encrypt('{"msgid": "1"}')) == b'{"msgid": "1"}'


def test_an_app_and_an_ai_bot_sharing_a_key_refuse_each_others_messages(crypto):
    bot = WeComCrypto(TOKEN, AES_KEY, "")
    with pytest.raises(ReceiveIdMismatch):
        bot.decrypt(crypto.encrypt("for the app"))
    with pytest.raises(ReceiveIdMismatch):
        crypto.decrypt(bot.encrypt("for the bot"))


@given(
    msg=st.binary(max_size=200),
    receive_id=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=32),
    pad_to=st.sampled_from([16, 32]),
)
def test_what_a_plain_cbc_cipher_sealed_is_read_back(msg, receive_id, pad_to):
    # Sealed by pycryptodome's own CBC mode (as WeCom does, or a sender padding to 16 bytes):
    # our decryption must be CBC's, whatever the number of blocks.
    body = plaintext(msg, receive_id.encode())
    sealed = raw_ciphertext(pkcs7(body, pad_to - len(body) % pad_to))
    assert WeComCrypto(TOKEN, AES_KEY, receive_id).decrypt(sealed) == msg


# --- padding to 32 bytes ------------------------------------------------------------------------


@pytest.mark.parametrize("msg_len", range(0, 33))
def test_ciphertext_is_padded_to_a_multiple_of_32(crypto, msg_len):
    ciphertext = base64.b64decode(crypto.encrypt(b"m" * msg_len))
    assert len(ciphertext) % 32 == 0


@pytest.mark.parametrize("pad_len", [17, 20, 31, 32])
def test_pad_values_above_16_are_accepted(crypto, pad_len):
    msg = b"x" * (96 - pad_len - 20 - len(CORP_ID))
    padded = pkcs7(plaintext(msg), pad_len)
    assert len(padded) == 96
    with pytest.raises(ValueError):
        unpad(padded, 16)  # what a stock AES-block unpad does with such real WeCom traffic
    assert crypto.decrypt(raw_ciphertext(padded)) == msg


def test_a_sender_padding_to_16_bytes_is_still_understood(crypto):
    body = plaintext(b"hello!")  # 44 bytes: padded to 48, an odd number of AES blocks
    assert crypto.decrypt(raw_ciphertext(pkcs7(body, 4))) == b"hello!"


@pytest.mark.parametrize(
    "padded",
    [
        plaintext(b"x" * 24) + b"\x00\x00",  # pad value 0
        plaintext(b"x" * 22) + b"\x01\x04\x04\x04",  # pad bytes disagree with the pad value
        plaintext(b"x" * 24) + bytes([33]) * 2,  # pad value above 32
        bytes(15) + bytes([32]),  # a pad longer than the whole plaintext
    ],
)
def test_bad_padding_is_a_decrypt_failure(crypto, padded):
    assert len(padded) % 16 == 0
    with pytest.raises(DecryptFailed) as rejected:
        crypto.decrypt(raw_ciphertext(padded))
    assert (rejected.value.status, rejected.value.code) == (400, -40007)


# --- rejected input -----------------------------------------------------------------------------


def test_tampered_ciphertext_is_rejected(crypto):
    ciphertext = bytearray(base64.b64decode(crypto.encrypt(b"m" * 26)))  # 20+26+18 = 64: pad 32
    ciphertext[-17] ^= 0x40  # flips the last plaintext byte: pad value 32 becomes 96
    with pytest.raises(DecryptFailed):
        crypto.decrypt(base64.b64encode(bytes(ciphertext)).decode())


@pytest.mark.parametrize("blocks_cut", [1, 2, 3])
def test_a_ciphertext_cut_short_by_whole_blocks_is_refused(crypto, blocks_cut):
    # 20 + 100 + 18 = 138 bytes, padded to 160 (ten blocks) by 22 bytes of 22.
    ciphertext = base64.b64decode(crypto.encrypt(b"m" * 100, random_prefix=bytes(16)))
    cut = base64.b64encode(ciphertext[: -16 * blocks_cut]).decode()
    with pytest.raises(CallbackRejected) as rejected:
        crypto.decrypt(cut)
    assert rejected.value.status == 400


_WHOLE_BLOCKS = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.binary(min_size=16 * n, max_size=16 * n)
)


@given(_WHOLE_BLOCKS)
def test_random_blocks_are_rejected_or_decrypted_never_an_error(data):
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    with contextlib.suppress(CallbackRejected):
        crypto.decrypt(base64.b64encode(data).decode())


def test_wrong_signature_is_rejected_with_403(crypto):
    encrypted = crypto.encrypt("hi")
    good = crypto.signature("1700000000", "42", encrypted)
    with pytest.raises(BadSignature) as rejected:
        crypto.verify(good[:-1] + ("0" if good[-1] != "0" else "1"), "1700000000", "42", encrypted)
    assert (rejected.value.status, rejected.value.code) == (403, -40001)


@pytest.mark.parametrize("field", ["timestamp", "nonce"])
def test_signature_covers_timestamp_and_nonce(crypto, field):
    args = {"timestamp": "1700000000", "nonce": "42", "payload": crypto.encrypt("hi")}
    signature = crypto.signature(**args)
    with pytest.raises(BadSignature):
        crypto.verify(signature, **{**args, field: args[field] + "1"})


def test_signature_from_another_token_is_rejected(crypto):
    other = WeComCrypto("another", AES_KEY, CORP_ID)
    encrypted = crypto.encrypt("hi")
    with pytest.raises(BadSignature):
        crypto.verify(other.signature("1", "2", encrypted), "1", "2", encrypted)


@pytest.mark.parametrize("signature", ["", "é" * 40, "\udcff", "A" * 4000])
def test_odd_signatures_are_rejected_not_crashed_on(crypto, signature):
    with pytest.raises(BadSignature):
        crypto.verify(signature, "1", "2", "payload")


def test_signature_is_checked_before_anything_is_decrypted(crypto):
    with pytest.raises(BadSignature):
        crypto.open_message("0" * 40, "1", "2", "not base64 at all!")


def test_other_receive_id_is_rejected_without_revealing_it(crypto):
    foreign = WeComCrypto(TOKEN, AES_KEY, "ww-someone-else")
    with pytest.raises(ReceiveIdMismatch) as rejected:
        crypto.decrypt(foreign.encrypt("hi"))
    assert rejected.value.code == -40005
    assert "someone-else" not in rejected.value.reason


def test_receive_id_must_match_exactly_not_as_a_prefix(crypto):
    longer = WeComCrypto(TOKEN, AES_KEY, CORP_ID + "x")
    with pytest.raises(ReceiveIdMismatch):
        crypto.decrypt(longer.encrypt("hi"))


@pytest.mark.parametrize("encrypted", ["not base64!", "abc", "YWJj\n", "ÄÖÜ", "YW Jj"])
def test_non_base64_is_rejected(crypto, encrypted):
    with pytest.raises(InvalidBase64) as rejected:
        crypto.decrypt(encrypted)
    assert rejected.value.code == -40010


@pytest.mark.parametrize("size", [0, 1, 15, 17, 33])
def test_ciphertext_not_a_whole_number_of_blocks_is_rejected(crypto, size):
    with pytest.raises(DecryptFailed):
        crypto.decrypt(base64.b64encode(b"\x00" * size).decode())


def test_message_length_beyond_the_buffer_is_rejected(crypto):
    body = plaintext(b"short", msg_len=1000)
    with pytest.raises(BadBuffer) as rejected:
        crypto.decrypt(raw_ciphertext(pkcs7(body, 32 - len(body) % 32)))
    assert rejected.value.code == -40008


def test_plaintext_shorter_than_its_header_is_rejected(crypto):
    with pytest.raises(BadBuffer):
        crypto.decrypt(raw_ciphertext(pkcs7(b"R" * 16, 16)))


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        AES_KEY[:-1],
        AES_KEY + "A",
        AES_KEY[:-1] + "+",
        AES_KEY[:-1] + "/",
        AES_KEY[:-1] + "é",
        AES_KEY[:-1] + "\n",
        AES_KEY[:-1] + "=",
        "",
    ],
)
def test_invalid_encoding_aes_key_is_refused_without_echoing_it(key):
    with pytest.raises(ValueError) as refused:
        WeComCrypto(TOKEN, key, CORP_ID)
    assert "EncodingAESKey" in str(refused.value)
    assert AES_KEY[:10] not in str(refused.value)


def test_empty_token_is_refused():
    with pytest.raises(ValueError):
        WeComCrypto("", AES_KEY, CORP_ID)
