"""Bad callback requests of every kind in SECURITY.md's refusal table, built with the app's
real keys where the kind needs to get past a check (a valid signature over garbage, say).

    peer = Peer(token, aes_key, corp_id, agent_id)
    for request in CASES["bad-padding"](peer, random.Random(1)):
        ...  # send request.method to the callback path with its params, headers and body

A case is a list of requests: the last one is the bad one, any before it set it up (the
first, answered verification of a replay). `mixed(peer, rng)` draws a random case, for floods.
"""

from __future__ import annotations

import base64
import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from Crypto.Cipher import AES

from adapters.inbound.callback.callback_limits import (
    MAX_ENVELOPE_BYTES,
    MAX_FIELD_BYTES,
    MAX_NAME_CHARS,
)
from adapters.inbound.callback.wecom_crypto import WeComCrypto
from wecom_emulator.callbacks import cdata, render_xml, text_message_xml

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + "]><xml><Encrypt>&i;</Encrypt></xml>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    "<xml><Encrypt>&e;</Encrypt></xml>"
)


@dataclass(frozen=True)
class CallbackRequest:
    method: str
    params: list[tuple[str, str]]
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Sent chunked, without a Content-Length, so the size limit must be enforced while reading.
    chunked: bool = False


@dataclass
class Peer:
    """Plays WeCom: it knows the app's Token, EncodingAESKey, CorpID and AgentId."""

    token: str
    aes_key: str
    corp_id: str
    agent_id: int
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.crypto = WeComCrypto(self.token, self.aes_key, self.corp_id)
        self.key = base64.b64decode(self.aes_key + "=")

    def params(self, encrypted: str, *, timestamp: int | None = None, nonce: str = "") -> list:
        ts = str(int(self.clock()) if timestamp is None else timestamp)
        nonce = nonce or str(random.randrange(10**9, 10**10))
        return [
            ("msg_signature", self.crypto.signature(ts, nonce, encrypted)),
            ("timestamp", ts),
            ("nonce", nonce),
        ]

    def post(self, encrypted: str, **signing) -> CallbackRequest:
        """The envelope around `encrypted`, correctly signed."""
        envelope = render_xml(
            {"ToUserName": self.corp_id, "AgentID": str(self.agent_id), "Encrypt": encrypted}
        )
        return CallbackRequest("POST", self.params(encrypted, **signing), envelope.encode())

    def post_plaintext(self, xml: str | bytes) -> CallbackRequest:
        """A signed callback whose (well encrypted) message is `xml`."""
        return self.post(self.crypto.encrypt(xml))

    def seal(self, padded: bytes) -> str:
        """Encrypts bytes exactly as given (already padded): what our encrypt() never makes."""
        return base64.b64encode(
            AES.new(self.key, AES.MODE_CBC, iv=self.key[:16]).encrypt(padded)
        ).decode()

    def layout(self, msg: bytes, receive_id: bytes | None = None, msg_len: int | None = None):
        """random(16) + msg_len + msg + receiveid, padded to 32 bytes as WeCom does."""
        receive_id = self.corp_id.encode() if receive_id is None else receive_id
        length = len(msg) if msg_len is None else msg_len
        body = b"R" * 16 + length.to_bytes(4, "big") + msg + receive_id
        pad = 32 - len(body) % 32
        return body + bytes([pad]) * pad

    def message(self, **fields: str | int | None) -> str:
        """A decrypted text message with `fields` changed (None drops one)."""
        xml_fields = {
            "ToUserName": self.corp_id, "FromUserName": "zhangsan",
            "CreateTime": int(self.clock()), "MsgType": "text", "Content": "hi",
            "MsgId": str(random.randrange(1, 2**63)), "AgentID": self.agent_id,
            **fields,
        }
        return render_xml({k: v for k, v in xml_fields.items() if v is not None})

    def verification(self, echo: str = "1616140317555161061", **signing) -> CallbackRequest:
        encrypted = self.crypto.encrypt(echo)
        return CallbackRequest("GET", [*self.params(encrypted, **signing), ("echostr", encrypted)])


def _without(params: list, name: str) -> list:
    return [(k, v) for k, v in params if k != name]


def _replace(params: list, name: str, value: str) -> list:
    return [(k, value if k == name else v) for k, v in params]


def _unsigned_post(peer: Peer, body: bytes, **headers: str) -> CallbackRequest:
    return CallbackRequest("POST", peer.params("ignored"), body, headers)


def _forged_signature(peer: Peer, rng: random.Random) -> CallbackRequest:
    request = peer.post_plaintext(peer.message())
    return CallbackRequest(
        "POST", _replace(request.params, "msg_signature", rng.randbytes(20).hex()), request.body
    )


Case = Callable[[Peer, random.Random], list[CallbackRequest]]

CASES: dict[str, Case] = {
    "missing-parameter": lambda p, r: [
        CallbackRequest(
            "POST",
            _without(p.params("x"), r.choice(["msg_signature", "timestamp", "nonce"])),
            p.post_plaintext(p.message()).body,
        )
    ],
    "repeated-parameter": lambda p, r: [
        CallbackRequest(
            "POST", [*p.params("x"), ("nonce", "12345")], p.post_plaintext(p.message()).body
        )
    ],
    "oversized-parameter": lambda p, r: [
        CallbackRequest("POST", _replace(p.params("x"), "nonce", "9" * 129), b"<xml/>")
    ],
    "malformed-signature": lambda p, r: [
        CallbackRequest(
            "POST",
            _replace(p.params("x"), "msg_signature", r.choice(["z" * 40, "ab" * 19, "é" * 40])),
            b"<xml/>",
        )
    ],
    "malformed-timestamp": lambda p, r: [
        CallbackRequest(
            "POST", _replace(p.params("x"), "timestamp", r.choice(["soon", "²", "-5"])), b""
        )
    ],
    "stale-timestamp": lambda p, r: [
        p.post(p.crypto.encrypt(p.message()), timestamp=int(p.clock()) - 3600)
    ],
    "bad-signature": lambda p, r: [_forged_signature(p, r)],
    "replayed-verification": lambda p, r: [(first := p.verification()), first],
    "verification-garbage-echostr": lambda p, r: [
        CallbackRequest("GET", [*p.params("%%%"), ("echostr", "%%%")])
    ],
    "wrong-content-type": lambda p, r: [
        CallbackRequest(
            "POST",
            (request := p.post_plaintext(p.message())).params,
            request.body,
            {"content-type": r.choice(["multipart/form-data; boundary=x", "application/json"])},
        )
    ],
    "body-too-large": lambda p, r: [
        _unsigned_post(p, b"<xml><Encrypt>" + b"A" * MAX_ENVELOPE_BYTES + b"</Encrypt></xml>")
    ],
    "body-too-large-chunked": lambda p, r: [
        CallbackRequest("POST", p.params("x"), b"A" * (MAX_ENVELOPE_BYTES + 1), chunked=True)
    ],
    "not-xml": lambda p, r: [_unsigned_post(p, r.choice([b"{not xml", b"", b"\x00\x01"]))],
    "not-utf8": lambda p, r: [_unsigned_post(p, b"<xml><Encrypt>\xff\xfe</Encrypt></xml>")],
    "xml-entity-expansion": lambda p, r: [_unsigned_post(p, BILLION_LAUGHS.encode())],
    "xml-external-entity": lambda p, r: [_unsigned_post(p, EXTERNAL_ENTITY.encode())],
    "missing-encrypt": lambda p, r: [_unsigned_post(p, b"<xml><ToUserName>x</ToUserName></xml>")],
    "bad-base64": lambda p, r: [p.post(r.choice(["not base64!", "YWJj\n", "abc"]))],
    "partial-block": lambda p, r: [
        p.post(base64.b64encode(r.randbytes(r.choice([1, 15, 17, 33]))).decode())
    ],
    "bad-padding": lambda p, r: [p.post(p.seal(r.randbytes(31) + b"\x00"))],
    "short-plaintext": lambda p, r: [p.post(p.seal(b"R" * 16 + bytes([16]) * 16))],
    "length-beyond-buffer": lambda p, r: [
        p.post(p.seal(p.layout(b"<xml/>", msg_len=r.randrange(10_000, 2**32))))
    ],
    "other-receiveid": lambda p, r: [
        p.post(p.seal(p.layout(p.message().encode(), receive_id=b"wwSomeoneElse")))
    ],
    "decrypted-not-xml": lambda p, r: [p.post_plaintext(r.choice(["hello", "<xml>", "{}"]))],
    "decrypted-not-utf8": lambda p, r: [p.post_plaintext(b"<xml>\xc3\x28</xml>")],
    "decrypted-with-dtd": lambda p, r: [p.post_plaintext(BILLION_LAUGHS)],
    "missing-field": lambda p, r: [
        p.post_plaintext(p.message(**{r.choice(["FromUserName", "MsgType", "MsgId"]): None}))
    ],
    "non-numeric-field": lambda p, r: [
        p.post_plaintext(p.message(**{r.choice(["MsgId", "CreateTime"]): "12a"}))
    ],
    "oversized-name": lambda p, r: [
        p.post_plaintext(p.message(FromUserName="u" * (MAX_NAME_CHARS + 1)))
    ],
    "oversized-content": lambda p, r: [
        p.post_plaintext(p.message(Content="x" * (MAX_FIELD_BYTES + 1)))
    ],
    "forged-recipient": lambda p, r: [
        p.post_plaintext(p.message(FromUserName=r.choice(["@all", "zhangsan|lisi", "-x", "张三"])))
    ],
    "other-agent": lambda p, r: [p.post_plaintext(p.message(AgentID=p.agent_id + 1))],
    "wrong-method": lambda p, r: [CallbackRequest("PUT", p.params("x"), b"<xml/>")],
}


def random_text(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(string.printable + "中文<>&]]>") for _ in range(size))


def garbage(peer: Peer, rng: random.Random) -> list[CallbackRequest]:
    """Noise that no table row names: random bytes, random XML, random signed plaintext."""
    kind = rng.randrange(4)
    if kind == 0:
        return [_unsigned_post(peer, rng.randbytes(rng.randrange(0, 2048)))]
    if kind == 1:
        inner = "".join(
            f"<{tag}>{cdata(random_text(rng, rng.randrange(0, 40)))}</{tag}>"
            for tag in rng.sample(["Encrypt", "ToUserName", "AgentID", "x", "MsgType"], 3)
        )
        return [_unsigned_post(peer, f"<xml>{inner}</xml>".encode())]
    if kind == 2:
        return [peer.post_plaintext(random_text(rng, rng.randrange(0, 300)))]
    name = random_text(rng, rng.randrange(MAX_NAME_CHARS + 1, MAX_NAME_CHARS + 50))
    return [peer.post_plaintext(text_message_xml(peer.corp_id, name, "hi", 1, peer.agent_id))]


def mixed(peer: Peer, rng: random.Random) -> list[CallbackRequest]:
    """One bad request of a random kind (a tenth of them noise beyond the table)."""
    if rng.random() < 0.1:
        return garbage(peer, rng)
    return CASES[rng.choice(sorted(CASES))](peer, rng)
