"""WeCom's callback signature and AES scheme (WECOM.md, "Callback")."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re

from Crypto.Cipher import AES
from Crypto.Util.Padding import pad

from adapters.inbound.callback.callback_errors import (
    BadBuffer,
    BadSignature,
    DecryptFailed,
    InvalidBase64,
    MalformedCallback,
    ReceiveIdMismatch,
)

# WeCom pads to multiples of 32 bytes, not of the 16-byte AES block.
_PAD_BLOCK = 32
# What a valid pad of each length is, so that checking one copies nothing.
_PADDINGS = [bytes([length]) * length for length in range(_PAD_BLOCK + 1)]
_RANDOM_LEN = 16
_LENGTH_LEN = 4
_HEADER_LEN = _RANDOM_LEN + _LENGTH_LEN
_AES_KEY_FORMAT = re.compile(r"[A-Za-z0-9]{43}")


class WeComCrypto:
    """Signs, verifies, encrypts and decrypts callback payloads for one app.

    `receive_id` is the CorpID for a self-built app and the empty string for the AI bot.
    """

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if not token:
            raise ValueError("Token must not be empty: anyone could sign callbacks")
        if not _AES_KEY_FORMAT.fullmatch(encoding_aes_key):
            raise ValueError(
                "EncodingAESKey must be 43 letters or digits "
                f"(got {len(encoding_aes_key)} characters)"
            )
        self._token = token
        self._key = base64.b64decode(encoding_aes_key + "=")
        self._iv = self._key[:16]
        self._receive_id = receive_id.encode("utf-8")

    def signature(self, timestamp: str, nonce: str, payload: str) -> str:
        # Sorting str by code point equals sorting the UTF-8 bytes, as the official samples do.
        # surrogatepass keeps a malformed query string a signature mismatch instead of a crash.
        joined = "".join(sorted([self._token, timestamp, nonce, payload]))
        return hashlib.sha1(joined.encode("utf-8", "surrogatepass")).hexdigest()

    def verify(self, msg_signature: str, timestamp: str, nonce: str, payload: str) -> None:
        expected = self.signature(timestamp, nonce, payload).encode("ascii")
        if not hmac.compare_digest(expected, msg_signature.encode("utf-8", "surrogatepass")):
            raise BadSignature("msg_signature does not match")

    def decrypt(self, encrypted_b64: str) -> bytes:
        try:
            # Strict mode refuses exactly what b64decode(validate=True) does, without its regex.
            ciphertext = binascii.a2b_base64(encrypted_b64, strict_mode=True)
        except ValueError:
            raise InvalidBase64("encrypted payload is not valid base64") from None
        if not ciphertext or len(ciphertext) % AES.block_size:
            raise DecryptFailed("ciphertext is not a whole number of AES blocks")
        # A CBC object carries its chaining state, so each message needs its own; the library's
        # CBC, not chaining of our own, is worth the key expansion (about 14 µs) it costs.
        plaintext = AES.new(self._key, AES.MODE_CBC, iv=self._iv).decrypt(ciphertext)
        # random(16) + msg_len(4) + msg + receiveid + pad, read in place.
        end = len(plaintext) - _pad_length(plaintext)
        if end < _HEADER_LEN:
            raise BadBuffer("plaintext shorter than its fixed header")
        msg_end = _HEADER_LEN + int.from_bytes(plaintext[_RANDOM_LEN:_HEADER_LEN], "big")
        if msg_end > end:
            raise BadBuffer("declared message length exceeds the plaintext")
        if plaintext[msg_end:end] != self._receive_id:
            raise ReceiveIdMismatch("receiveid is not the configured one")
        return plaintext[_HEADER_LEN:msg_end]

    def encrypt(self, plaintext: bytes | str, *, random_prefix: bytes | None = None) -> str:
        msg = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        prefix = os.urandom(_RANDOM_LEN) if random_prefix is None else random_prefix
        if len(prefix) != _RANDOM_LEN:
            raise ValueError(f"random_prefix must be {_RANDOM_LEN} bytes")
        body = prefix + len(msg).to_bytes(_LENGTH_LEN, "big") + msg + self._receive_id
        cipher = AES.new(self._key, AES.MODE_CBC, iv=self._iv)
        return base64.b64encode(cipher.encrypt(pad(body, _PAD_BLOCK))).decode("ascii")

    def open_message(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> bytes:
        """Verify, then decrypt: the order that keeps unsigned input away from the cipher."""
        self.verify(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def open_echo(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """URL verification (GET): the plain string WeCom expects back as the response body."""
        plain = self.open_message(msg_signature, timestamp, nonce, echostr)
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedCallback("echostr plaintext is not UTF-8") from None


def _pad_length(padded: bytes) -> int:
    # Like the official decoders, accept a pad of 1..32 on any whole number of AES blocks
    # (a sender padding to 16 stays readable), but insist that every pad byte agrees. A pad
    # longer than the plaintext cannot match its `_PADDINGS` entry.
    pad_len = padded[-1]
    if not 1 <= pad_len <= _PAD_BLOCK or not padded.endswith(_PADDINGS[pad_len]):
        raise DecryptFailed("bad PKCS#7 padding")
    return pad_len
