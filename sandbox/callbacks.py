"""Callbacks as WeCom sends them (built, encrypted and signed by wecom_emulator.callbacks with
the service's own crypto module, so both sides speak exactly WeCom's scheme), POSTed to the
callback URL, and sent again a few times when the service does not answer 200, as WeCom
retries."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

import httpx

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from sandbox.corp import Corp
from wecom_emulator.callbacks import signed_callback, text_message_xml, voice_message_xml

log = logging.getLogger("weworktop.sandbox")

# WeCom tries three more times; the sandbox waits less between tries than WeCom's 5 s.
RETRIES = 3
RETRY_WAIT_SECONDS = 0.5


class CallbackSender:
    def __init__(
        self, client: httpx.AsyncClient, callback_url: str, corp: Corp, crypto: WeComCrypto
    ):
        self._client = client
        self._url = callback_url
        self._corp = corp
        self._crypto = crypto
        # MsgIds from the clock: unique across sandbox runs that share one database, where
        # a MsgId seen before would be taken for a WeCom retry and not answered.
        self._msg_ids = itertools.count(int(time.time() * 1000))

    def next_msg_id(self) -> str:
        return str(next(self._msg_ids))

    def text(self, from_user: str, content: str, msg_id: str, chat_id: str = "") -> str:
        corp = self._corp
        return text_message_xml(
            corp.corp_id, from_user, content, msg_id, corp.agent_id, chat_id=chat_id
        )

    def voice(self, from_user: str, media_id: str, msg_id: str, chat_id: str = "") -> str:
        corp = self._corp
        return voice_message_xml(
            corp.corp_id, from_user, media_id, msg_id, corp.agent_id, chat_id=chat_id
        )

    async def post(self, xml: str) -> str | None:
        """Delivers the callback; None once the service answered 200, else what went wrong."""
        problem = ""
        params, body = signed_callback(self._crypto, xml)
        for attempt in range(1 + RETRIES):
            if attempt:
                await asyncio.sleep(RETRY_WAIT_SECONDS)
            try:
                response = await self._client.post(self._url, params=params, content=body)
            except httpx.HTTPError as err:
                problem = f"the service could not be reached ({type(err).__name__})"
                continue
            if response.status_code == 200:
                return None
            problem = f"the service answered HTTP {response.status_code}"
        log.warning("sandbox callback not taken after %d tries: %s", 1 + RETRIES, problem)
        return problem
