"""Callbacks as WeCom sends them to an AI bot in API mode (WECOM.md, "AI bot"): JSON, encrypted
and signed with the bot's Token and EncodingAESKey (receiveid ""), and the passive replies
that come back, checked and opened as WeCom does.

    crypto = WeComCrypto(TOKEN, AES_KEY, "")
    params, body = signed_aibot_callback(crypto, text_payload("msgid-1", "你好"))
    response = client.post("/wework_aibot", params=params, content=body)
    stream = open_passive_reply(crypto, response.content, params["nonce"])["stream"]
"""

from __future__ import annotations

import json
import secrets
from typing import Any, Protocol

from wecom_emulator.callbacks import CallbackCrypto, signed_query

DEFAULT_RESPONSE_URL = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC"


class ReplyCrypto(CallbackCrypto, Protocol):
    def decrypt(self, encrypted: str) -> bytes | str: ...


class BadReply(ValueError):
    """A passive reply WeCom would not take: wrong nonce, signature or envelope."""


def text_payload(
    msg_id: str,
    content: str,
    user: str = "zhangsan",
    chat_id: str | None = None,
    response_url: str = DEFAULT_RESPONSE_URL,
    msg_type: str = "text",
) -> dict[str, Any]:
    """A message to the bot; `chat_id` makes it a group message (an @-mention)."""
    payload: dict[str, Any] = {
        "msgid": msg_id,
        "aibotid": "AIBOTID",
        "chattype": "group" if chat_id else "single",
        "from": {"userid": user},
        "response_url": response_url,
        "msgtype": msg_type,
        msg_type: {"content": content},
    }
    if chat_id:
        payload["chatid"] = chat_id
    return payload


def media_payload(
    msg_id: str,
    msg_type: str,
    part: dict[str, str],
    user: str = "zhangsan",
    chat_id: str | None = None,
    response_url: str = DEFAULT_RESPONSE_URL,
) -> dict[str, Any]:
    """A picture (`msg_type` "image") or a file ("file") a member sent the bot: `part` holds
    its download `url` (see aibot_media); callbacks carry no aeskey."""
    payload = text_payload(msg_id, "", user, chat_id, response_url, msg_type)
    payload[msg_type] = part
    return payload


def refresh_payload(stream_id: str, user: str = "zhangsan") -> dict[str, Any]:
    """WeCom asking for what a stream shows now (about once a second until it finishes)."""
    return {
        "msgid": f"refresh-{secrets.token_hex(6)}",
        "aibotid": "AIBOTID",
        "chattype": "single",
        "from": {"userid": user},
        "msgtype": "stream",
        "stream": {"id": stream_id},
    }


def signed_aibot_callback(
    crypto: CallbackCrypto,
    payload: dict[str, Any],
    timestamp: int | None = None,
    nonce: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """The POST WeCom sends for `payload`: (query params, JSON body)."""
    encrypted = crypto.encrypt(json.dumps(payload, ensure_ascii=False))
    params = signed_query(crypto, encrypted, timestamp, nonce)
    return params, json.dumps({"encrypt": encrypted}).encode()


def open_passive_reply(crypto: ReplyCrypto, body: bytes | str, nonce: str) -> dict[str, Any]:
    """The plaintext of a passive reply, after checking it as WeCom does: it echoes the
    callback's nonce and is signed over its own timestamp. Raises BadReply."""
    try:
        envelope = json.loads(body)
        signature, timestamp = envelope["msgsignature"], envelope["timestamp"]
        encrypted, echoed = envelope["encrypt"], envelope["nonce"]
    except (ValueError, TypeError, KeyError):
        raise BadReply("a passive reply is a JSON envelope of encrypt and its signature") from None
    if echoed != nonce:
        raise BadReply("a passive reply must echo the callback's nonce")
    expected = crypto.signature(str(timestamp), nonce, str(encrypted)).encode()
    if not secrets.compare_digest(expected, str(signature).encode("utf-8", "surrogatepass")):
        raise BadReply("the passive reply's msgsignature does not match")
    return json.loads(crypto.decrypt(encrypted))
