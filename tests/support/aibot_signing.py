"""WeCom's side of the AI bot callback, for any test that plays it: messages and stream
refreshes signed and encrypted as WeCom sends them, and passive replies checked and opened
as WeCom would (signature over the reply's timestamp and our nonce, receiveid "")."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from adapters.inbound.callback.wecom_crypto import WeComCrypto


def text_payload(
    msg_id: str,
    content: str,
    user: str = "zhangsan",
    chat_id: str | None = None,
    response_url: str = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC",
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


def refresh_payload(stream_id: str, user: str = "zhangsan") -> dict[str, Any]:
    return {
        "msgid": f"refresh-{secrets.token_hex(6)}",
        "aibotid": "AIBOTID",
        "chattype": "single",
        "from": {"userid": user},
        "msgtype": "stream",
        "stream": {"id": stream_id},
    }


class AiBotPeer:
    def __init__(self, token: str, aes_key: str):
        self.crypto = WeComCrypto(token, aes_key, "")

    def signed(
        self, payload: dict[str, Any], timestamp: int | None = None, nonce: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """The POST WeCom sends for `payload`: (query params, JSON body)."""
        encrypted = self.crypto.encrypt(json.dumps(payload, ensure_ascii=False))
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = str(secrets.randbelow(10**10)) if nonce is None else nonce
        params = {
            "msg_signature": self.crypto.signature(ts, nonce, encrypted),
            "timestamp": ts,
            "nonce": nonce,
        }
        return params, json.dumps({"encrypt": encrypted}).encode()

    def open_reply(self, body: bytes, nonce: str) -> dict[str, Any]:
        """The plaintext of a passive reply, after checking it as WeCom does."""
        envelope = json.loads(body)
        assert envelope["nonce"] == nonce, "a passive reply must echo the callback's nonce"
        self.crypto.verify(
            envelope["msgsignature"], envelope["timestamp"], nonce, envelope["encrypt"]
        )
        return json.loads(self.crypto.decrypt(envelope["encrypt"]))
