"""The AI bot's callback endpoint (智能机器人, API mode).

URL verification (GET) and the query, timestamp and signature checks are every channel's
(SignedCallback; only the crypto differs: receiveid ""), and so are the refusals with their
log lines (SECURITY.md). A POST carries JSON and is answered with an encrypted passive
reply: the opening of a new message's stream, or a stream's current content. A message is
recorded before its stream is opened, so what WeCom cannot get recorded (503) it retries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from adapters.inbound.callback.callback_errors import CallbackRejected
from adapters.inbound.callback.callback_limits import MAX_ENVELOPE_BYTES
from adapters.inbound.callback.clock_skew import ClockSkewWatch
from adapters.inbound.callback.signed_callback import SignedCallback, read_limited
from adapters.inbound.callback.wecom_crypto import WeComCrypto
from adapters.inbound.wecom_aibot.wecom_aibot_json import (
    NotAMessage,
    StreamRefresh,
    parse_callback,
    parse_envelope,
    passive_reply,
)
from application.channels.aibot.accept_aibot_message import AiBotAccepted
from application.channels.aibot.stream_board import StreamReply
from application.pipeline.log_context import current_message
from application.ports.telemetry import Telemetry
from domain.messages import DEFAULT_AIBOT_CHANNEL, InboundMessage, message_key
from domain.url_origins import TrustedOrigins

log = logging.getLogger(__name__)

AcceptAiBotMessage = Callable[[InboundMessage], Awaitable[AiBotAccepted]]
RefreshStream = Callable[[str], Awaitable[StreamReply]]


class WeComAiBotCallback(SignedCallback):
    def __init__(
        self,
        crypto: WeComCrypto,
        accept: AcceptAiBotMessage,
        refresh: RefreshStream,
        max_skew_seconds: int,
        response_origins: TrustedOrigins,
        clock: Callable[[], float] = time.time,
        telemetry: Telemetry | None = None,
        channel: str = DEFAULT_AIBOT_CHANNEL,
        clock_watch: ClockSkewWatch | None = None,
    ):
        super().__init__(crypto, max_skew_seconds, clock, telemetry, channel, clock_watch)
        self._accept = accept
        self._refresh = refresh
        self._response_origins = response_origins

    async def receive(self, request: Request) -> Response:
        try:
            signature, timestamp, nonce = self._query(request)
            encrypt = parse_envelope(await read_limited(request, MAX_ENVELOPE_BYTES))
            plaintext = self._open_message(signature, timestamp, nonce, encrypt)
            callback = parse_callback(
                plaintext, self._clock, self._response_origins, self._channel
            )
        except CallbackRejected as err:
            return self._refuse(request, err)
        except Exception:
            return self._refuse_unexpected(request)
        if isinstance(callback, NotAMessage):
            log.debug("AI bot %s acknowledged, nothing to answer", callback.kind)
            request.state.outcome = "ignored"
            return Response(status_code=200)
        try:
            reply = await self._answer(request, callback)
        except Exception as err:
            return self._not_recorded(err)
        if reply is None:
            return Response(status_code=200)
        sealed = passive_reply(self._crypto, reply, nonce, str(int(self._clock())))
        return Response(sealed, media_type="application/json")

    async def _answer(
        self, request: Request, callback: InboundMessage | StreamRefresh
    ) -> StreamReply | None:
        if isinstance(callback, StreamRefresh):
            current_message.set(message_key(self._channel, callback.stream_id))
            request.state.outcome = "refreshed"
            return await self._refresh(callback.stream_id)
        current_message.set(callback.dedup_key)
        accepted = await self._accept(callback)
        request.state.outcome = "accepted" if accepted.is_new else "duplicate"
        if not accepted.is_new:
            # The same stream as the first time (its id is the msgid): never a second answer.
            log.info("duplicate callback for %s answered with its stream", callback.dedup_key)
        else:
            log.debug("accepted %s (%s)", callback.dedup_key, callback.msg_type)
        return accepted.reply
