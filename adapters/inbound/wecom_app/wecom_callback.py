"""The WeCom callback endpoint: URL verification (GET) and messages (POST).

Bad input stops here with 400/403/413 and a reason in the log; nothing is stored for it
(SECURITY.md has the table). A good message is acknowledged with an empty 200 only once it is
durably recorded, so WeCom retries anything we could not record, and the record's dedup makes
those retries harmless.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from adapters.inbound.callback.callback_checks import (
    ReplayCache,
    check_content_type,
    check_query_sizes,
    check_signature_shape,
)
from adapters.inbound.callback.callback_errors import (
    CallbackRejected,
    CallbackTooLarge,
    MalformedCallback,
    StaleTimestamp,
)
from adapters.inbound.callback.wecom_crypto import WeComCrypto
from adapters.inbound.wecom_app.wecom_xml import MAX_ENVELOPE_BYTES, parse_envelope, parse_message
from application.pipeline.log_context import current_message
from application.ports.telemetry import Telemetry
from domain.messages import InboundMessage

log = logging.getLogger(__name__)

AcceptMessage = Callable[[InboundMessage], Awaitable[bool]]


_OUTCOMES = {400: "refused_400", 403: "refused_403", 413: "refused_413", 503: "unavailable"}


class WeComCallback:
    def __init__(
        self,
        crypto: WeComCrypto,
        accept: AcceptMessage,
        agent_id: int,
        max_skew_seconds: int,
        clock: Callable[[], float] = time.time,
        telemetry: Telemetry | None = None,
    ):
        self._telemetry = telemetry
        self._crypto = crypto
        self._accept = accept
        self._agent_id = agent_id
        self._max_skew = max_skew_seconds
        self._clock = clock
        self._answered_echoes = ReplayCache(max_skew_seconds)

    def routes(self, path: str) -> list[Route]:
        return [
            Route(path, self._counted(self.verify_url), methods=["GET"]),
            Route(path, self._counted(self.receive), methods=["POST"]),
        ]

    def _counted(self, endpoint: Callable[[Request], Awaitable[Response]]):
        async def counted(request: Request) -> Response:
            started = time.perf_counter()
            response = await endpoint(request)
            if self._telemetry is not None:
                outcome = getattr(request.state, "outcome", None) or _OUTCOMES.get(
                    response.status_code, f"http_{response.status_code}"
                )
                self._telemetry.callback_answered(outcome, time.perf_counter() - started)
            return response

        return counted

    async def verify_url(self, request: Request) -> Response:
        try:
            signature, timestamp, nonce, echostr = self._query(request, "echostr")
            plain = self._crypto.open_echo(signature, timestamp, nonce, echostr)
            self._answered_echoes.check_first_use(signature, timestamp, nonce)
        except CallbackRejected as err:
            return self._refuse(request, err)
        except Exception:
            return self._refuse_unexpected(request)
        log.info("callback URL verified by WeCom")
        request.state.outcome = "verified"
        # WeCom compares the body byte for byte: the plain echo, nothing around it.
        return PlainTextResponse(plain)

    async def receive(self, request: Request) -> Response:
        try:
            signature, timestamp, nonce = self._query(request)
            check_content_type(request.headers.get("content-type"))
            envelope = parse_envelope(await _read_limited(request, MAX_ENVELOPE_BYTES))
            plaintext = self._crypto.open_message(signature, timestamp, nonce, envelope.encrypt)
            message = parse_message(plaintext, expected_agent_id=self._agent_id)
        except CallbackRejected as err:
            return self._refuse(request, err)
        except Exception:
            return self._refuse_unexpected(request)
        current_message.set(message.dedup_key)
        try:
            is_new = await self._accept(message)
        except Exception:
            # Not recorded, so not acknowledged: WeCom's retry gets another chance.
            log.exception("could not record message %s; WeCom will retry", message.dedup_key)
            return Response("temporarily unavailable", status_code=503)
        request.state.outcome = "accepted" if is_new else "duplicate"
        if not is_new:
            log.info("duplicate callback for %s acknowledged, nothing done", message.dedup_key)
        else:
            log.debug(
                "accepted %s (%s) from %s", message.dedup_key, message.msg_type, message.from_user
            )
        return Response(status_code=200)

    def _query(self, request: Request, *extra: str) -> tuple[str, ...]:
        values = {}
        for name in ("msg_signature", "timestamp", "nonce", *extra):
            given = request.query_params.getlist(name)
            if len(given) != 1 or not given[0]:
                raise MalformedCallback(f"query parameter '{name}' missing or repeated")
            values[name] = given[0]
        check_query_sizes(values)
        check_signature_shape(values["msg_signature"])
        self._check_timestamp(values["timestamp"])
        return tuple(values.values())

    def _check_timestamp(self, timestamp: str) -> None:
        # isascii() matters: str.isdigit() also takes digits that int() cannot read, like "²".
        if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
            raise MalformedCallback("timestamp is not a number of seconds")
        if self._max_skew and abs(self._clock() - int(timestamp)) > self._max_skew:
            raise StaleTimestamp(
                f"timestamp is more than {self._max_skew}s from this server's clock "
                "(a replay, or a clock to fix; see callback_max_skew_seconds)"
            )

    @staticmethod
    def _refuse(request: Request, err: CallbackRejected) -> Response:
        client = request.client.host if request.client else "?"
        log.warning(
            "callback from %s refused with %d (%d): %s", client, err.status, err.code, err.reason
        )
        # The caller learns only the class of problem; the details are in our log.
        return PlainTextResponse(_PUBLIC_REASONS.get(err.status, "bad request"), err.status)

    @staticmethod
    def _refuse_unexpected(request: Request) -> Response:
        # A bug met by odd input must not become a 500 (or a traceback) for the caller; the
        # traceback goes to our log, through the secret redactor like every other line.
        client = request.client.host if request.client else "?"
        log.exception("callback from %s refused with 400 after an unexpected error", client)
        return PlainTextResponse(_PUBLIC_REASONS[400], 400)


_PUBLIC_REASONS = {400: "bad request", 403: "forbidden", 413: "request too large"}


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise CallbackTooLarge(f"body of {declared} bytes is over the {limit}-byte limit")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise CallbackTooLarge(f"body is over the {limit}-byte limit")
    except ClientDisconnect:
        raise MalformedCallback("the client went away before its body was complete") from None
    return bytes(body)
