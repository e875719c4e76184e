"""Pieces for end-to-end tests: a service configuration pointed at the WeCom emulator and
other local stand-ins, and a sender that plays WeCom's side of the callback."""

from __future__ import annotations

import secrets
import string

import httpx

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from wecom_emulator import App, WeComEmulator
from wecom_emulator.callbacks import (
    event_xml,
    image_message_xml,
    signed_callback,
    text_message_xml,
    voice_message_xml,
)


def random_key(length: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


class CallbackKeys:
    """The app's callback Token and EncodingAESKey, fresh and random for every test."""

    def __init__(self) -> None:
        self.token = random_key(32)
        self.aes_key = random_key(43)


def service_config(
    wecom: WeComEmulator,
    wecom_url: str,
    keys: CallbackKeys,
    storage_url: str,
    llm: dict | None = None,
    **wecom_settings,
) -> dict:
    return {
        "services": {
            "channel_type": "weworktop",
            "weworktop": {
                "corp_id": wecom.corp_id,
                "corp_secret": wecom.corp_secret,
                "agent_id": wecom.agent_id,
                "token": keys.token,
                "aes_key": keys.aes_key,
                "api_base_url": wecom_url,
                **wecom_settings,
            },
        },
        "llm": llm or {"provider": "echo"},
        "storage": {"url": storage_url},
    }


class WeComSender:
    """Sends text callbacks the way WeCom does: signed, encrypted, retried on failure. It plays
    `app` (the emulator's first app unless given), whose callback keys are `keys`, at `path`;
    `agent_id` puts another AgentID into the messages, as a forger would."""

    def __init__(
        self,
        wecom: WeComEmulator,
        keys: CallbackKeys,
        path: str = "/wework_callback",
        app: App | None = None,
        agent_id: int | None = None,
    ):
        app = app or wecom.first_app
        self._corp_id = app.corp_id
        self._agent_id = app.agent_id if agent_id is None else agent_id
        self._crypto = WeComCrypto(keys.token, keys.aes_key, app.corp_id)
        self._path = path

    def callback(
        self, user: str, content: str, msg_id: int, chat_id: str | None = None
    ) -> tuple[dict, bytes]:
        xml = text_message_xml(
            self._corp_id, user, content, msg_id=msg_id, agent_id=self._agent_id, chat_id=chat_id
        )
        return signed_callback(self._crypto, xml)

    def voice_callback(
        self, user: str, media_id: str, msg_id: int, chat_id: str | None = None
    ) -> tuple[dict, bytes]:
        xml = voice_message_xml(
            self._corp_id, user, media_id, msg_id, self._agent_id, chat_id=chat_id
        )
        return signed_callback(self._crypto, xml)

    def event_callback(self, user: str, event: str) -> tuple[dict, bytes]:
        """An event such as `enter_agent` (a member opening the app)."""
        return signed_callback(self._crypto, event_xml(self._corp_id, user, event, self._agent_id))

    def image_callback(self, user: str, media_id: str, msg_id: int) -> tuple[dict, bytes]:
        xml = image_message_xml(self._corp_id, user, media_id, msg_id, self._agent_id)
        return signed_callback(self._crypto, xml)

    def post(self, base_url: str, params: dict, body: bytes) -> httpx.Response:
        return httpx.post(f"{base_url}{self._path}", params=params, content=body, timeout=5)

    def post_each(self, base_urls: list[str], params: dict, body: bytes) -> int:
        """Posts the same callback once to each URL, as WeCom's original and its retries may
        reach different instances; an instance that is down is skipped. Returns the number
        of acknowledgements."""
        acknowledged = 0
        for url in base_urls:
            try:
                if self.post(url, params, body).status_code == 200:
                    acknowledged += 1
            except httpx.TransportError:
                continue
        return acknowledged
