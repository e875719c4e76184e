"""The self-built app's callback endpoint: its messages arrive as XML (POST).

A good message is acknowledged with an empty 200 only once it is durably recorded, so WeCom
retries anything we could not record, and the record's dedup makes those retries harmless.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from adapters.inbound.callback.callback_checks import check_content_type
from adapters.inbound.callback.callback_errors import CallbackRejected
from adapters.inbound.callback.callback_limits import MAX_ENVELOPE_BYTES
from adapters.inbound.callback.clock_skew import ClockSkewWatch
from adapters.inbound.callback.signed_callback import SignedCallback, read_limited
from adapters.inbound.callback.wecom_crypto import WeComCrypto
from adapters.inbound.wecom_app.wecom_xml import parse_envelope, parse_message
from application.pipeline.log_context import current_message
from application.ports.telemetry import Telemetry
from domain.messages import DEFAULT_APP_CHANNEL, InboundMessage

log = logging.getLogger(__name__)

AcceptMessage = Callable[[InboundMessage], Awaitable[bool]]


class WeComCallback(SignedCallback):
    def __init__(
        self,
        crypto: WeComCrypto,
        accept: AcceptMessage,
        agent_id: int,
        max_skew_seconds: int,
        clock: Callable[[], float] = time.time,
        telemetry: Telemetry | None = None,
        channel: str = DEFAULT_APP_CHANNEL,
        clock_watch: ClockSkewWatch | None = None,
    ):
        super().__init__(crypto, max_skew_seconds, clock, telemetry, channel, clock_watch)
        self._accept = accept
        self._agent_id = agent_id

    async def receive(self, request: Request) -> Response:
        try:
            signature, timestamp, nonce = self._query(request)
            check_content_type(request.headers.get("content-type"))
            envelope = parse_envelope(await read_limited(request, MAX_ENVELOPE_BYTES))
            plaintext = self._open_message(signature, timestamp, nonce, envelope.encrypt)
            message = parse_message(plaintext, self._agent_id, self._channel)
        except CallbackRejected as err:
            return self._refuse(request, err)
        except Exception:
            return self._refuse_unexpected(request)
        current_message.set(message.dedup_key)
        try:
            is_new = await self._accept(message)
        except Exception as err:
            return self._not_recorded(err)
        request.state.outcome = "accepted" if is_new else "duplicate"
        if not is_new:
            log.info("duplicate callback for %s acknowledged, nothing done", message.dedup_key)
        else:
            log.debug(
                "accepted %s (%s) from %s", message.dedup_key, message.msg_type, message.from_user
            )
        return Response(status_code=200)
