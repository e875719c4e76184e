"""WeCom's side of the AI bot callback, for any test that plays it: messages and stream
refreshes signed and encrypted as WeCom sends them (wecom_emulator.aibot_callbacks), with the
service's own crypto, and passive replies checked and opened as WeCom would."""

from __future__ import annotations

from typing import Any

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from wecom_emulator.aibot_callbacks import (
    open_passive_reply,
    refresh_payload,
    signed_aibot_callback,
    text_payload,
)

__all__ = ["AiBotPeer", "refresh_payload", "text_payload"]


class AiBotPeer:
    def __init__(self, token: str, aes_key: str):
        self.crypto = WeComCrypto(token, aes_key, "")

    def signed(
        self, payload: dict[str, Any], timestamp: int | None = None, nonce: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """The POST WeCom sends for `payload`: (query params, JSON body)."""
        return signed_aibot_callback(self.crypto, payload, timestamp, nonce)

    def open_reply(self, body: bytes, nonce: str) -> dict[str, Any]:
        """The plaintext of a passive reply, after checking it as WeCom does."""
        return open_passive_reply(self.crypto, body, nonce)
