"""Callbacks as WeCom sends them: the message as XML, encrypted and signed with the app's
Token and EncodingAESKey (the service's own crypto module does the AES and sha1 work, so
both sides speak exactly WeCom's scheme), POSTed to the callback URL, and sent again a few
times when the service does not answer 200, as WeCom retries."""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time

import httpx

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from sandbox.corp import Corp

log = logging.getLogger("weworktop.sandbox")

# WeCom tries three more times; the sandbox waits less between tries than WeCom's 5 s.
RETRIES = 3
RETRY_WAIT_SECONDS = 0.5


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside one CDATA section, so it is split across two.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_xml(fields: dict[str, str | int]) -> str:
    """WeCom's layout: integers bare, strings in CDATA."""
    inner = "".join(
        f"<{tag}>{value}</{tag}>" if isinstance(value, int) else f"<{tag}>{_cdata(value)}</{tag}>"
        for tag, value in fields.items()
    )
    return f"<xml>{inner}</xml>"


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
        return self._message(from_user, msg_id, chat_id, MsgType="text", Content=content)

    def voice(self, from_user: str, media_id: str, msg_id: str, chat_id: str = "") -> str:
        return self._message(
            from_user, msg_id, chat_id, MsgType="voice", MediaId=media_id, Format="amr"
        )

    async def post(self, xml: str) -> str | None:
        """Delivers the callback; None once the service answered 200, else what went wrong."""
        problem = ""
        params, body = self._signed(xml)
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

    def _message(self, from_user: str, msg_id: str, chat_id: str, **fields: str) -> str:
        message: dict[str, str | int] = {
            "ToUserName": self._corp.corp_id,
            "FromUserName": from_user,
            "CreateTime": int(time.time()),
            **fields,
            "MsgId": msg_id,
            "AgentID": self._corp.agent_id,
        }
        if chat_id:
            message["ChatId"] = chat_id
        return render_xml(message)

    def _signed(self, xml: str) -> tuple[dict[str, str], bytes]:
        encrypted = self._crypto.encrypt(xml)
        timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
        params = {
            "msg_signature": self._crypto.signature(timestamp, nonce, encrypted),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        envelope = render_xml(
            {"ToUserName": self._corp.corp_id, "AgentID": self._corp.agent_id, "Encrypt": encrypted}
        )
        return params, envelope.encode("utf-8")
