"""Callbacks as WeCom sends them to an app (built, encrypted and signed by
wecom_emulator.callbacks with the service's own crypto module, so both sides speak exactly
WeCom's scheme), POSTed to the app's callback URL, and sent again a few times when the service
does not answer 200, as WeCom retries."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

import httpx

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from wecom_emulator.callbacks import (
    event_xml,
    image_message_xml,
    signed_callback,
    text_message_xml,
    voice_message_xml,
)

log = logging.getLogger("weworktop.sandbox")

# WeCom tries three more times; the sandbox waits less between tries than WeCom's 5 s.
RETRIES = 3
RETRY_WAIT_SECONDS = 0.5

# MsgIds from the clock: unique across sandbox runs that share one database, where a MsgId
# seen before would be taken for a WeCom retry and not answered.
_msg_ids = itertools.count(int(time.time() * 1000))


def next_msg_id() -> str:
    return str(next(_msg_ids))


async def post_as_wecom(
    client: httpx.AsyncClient, url: str, params: dict[str, str], body: bytes
) -> httpx.Response | str:
    """Delivers a callback: the service's 200 answer, else what went wrong after WeCom's
    retries."""
    problem = ""
    for attempt in range(1 + RETRIES):
        if attempt:
            await asyncio.sleep(RETRY_WAIT_SECONDS)
        try:
            response = await client.post(url, params=params, content=body)
        except httpx.HTTPError as err:
            problem = f"the service could not be reached ({type(err).__name__})"
            continue
        if response.status_code == 200:
            return response
        problem = f"the service answered HTTP {response.status_code}"
    log.warning("sandbox callback not taken after %d tries: %s", 1 + RETRIES, problem)
    return problem


class CallbackSender:
    """One app's callbacks: its corp, its AgentId, its keys and its callback URL."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        callback_url: str,
        corp_id: str,
        agent_id: int,
        crypto: WeComCrypto,
    ):
        self._client = client
        self._url = callback_url
        self._corp_id = corp_id
        self._agent_id = agent_id
        self._crypto = crypto

    def text(self, from_user: str, content: str, msg_id: str, chat_id: str = "") -> str:
        return text_message_xml(
            self._corp_id, from_user, content, msg_id, self._agent_id, chat_id=chat_id
        )

    def voice(self, from_user: str, media_id: str, msg_id: str, chat_id: str = "") -> str:
        return voice_message_xml(
            self._corp_id, from_user, media_id, msg_id, self._agent_id, chat_id=chat_id
        )

    def picture(self, from_user: str, media_id: str, msg_id: str) -> str:
        return image_message_xml(self._corp_id, from_user, media_id, msg_id, self._agent_id)

    def event(self, from_user: str, event: str) -> str:
        return event_xml(self._corp_id, from_user, event, self._agent_id)

    async def post(self, xml: str) -> str | None:
        """Delivers the callback; None once the service answered 200, else what went wrong."""
        answer = await post_as_wecom(self._client, self._url, *signed_callback(self._crypto, xml))
        return answer if isinstance(answer, str) else None
