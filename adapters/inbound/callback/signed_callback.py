"""The part of a WeCom callback endpoint that every kind of channel shares.

Bad input stops here with 400/403/413 and a reason in the log; nothing is stored for it
(SECURITY.md has the table).
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
    check_query_sizes,
    check_signature_shape,
    check_timestamp_shape,
)
from adapters.inbound.callback.callback_errors import (
    CallbackRejected,
    CallbackTooLarge,
    MalformedCallback,
    StaleTimestamp,
)
from adapters.inbound.callback.clock_skew import ClockSkewWatch
from adapters.inbound.callback.wecom_crypto import WeComCrypto
from application.ports.event_store import StoreUnavailable
from application.ports.telemetry import Telemetry

log = logging.getLogger(__name__)

_OUTCOMES = {400: "refused_400", 403: "refused_403", 413: "refused_413", 503: "unavailable"}


class SignedCallback:
    """What every channel's callback shares: URL verification, the query, timestamp and
    signature checks, refusals with their log lines, and the per-channel metrics. A kind of
    channel adds how its POST body is read and answered (`receive`)."""

    def __init__(
        self,
        crypto: WeComCrypto,
        max_skew_seconds: int,
        clock: Callable[[], float],
        telemetry: Telemetry | None,
        channel: str,
        clock_watch: ClockSkewWatch | None = None,
    ):
        """`clock_watch`: the process's one watch over callbacks refused for their
        timestamps (by default one of this endpoint's own)."""
        self._telemetry = telemetry
        self._channel = channel
        self._crypto = crypto
        self._max_skew = max_skew_seconds
        self._clock = clock
        self._clock_watch = clock_watch or ClockSkewWatch(clock)
        self._answered_echoes = ReplayCache(max_skew_seconds)

    def routes(self, path: str) -> list[Route]:
        return [
            Route(path, self._counted(self.verify_url), methods=["GET"]),
            Route(path, self._counted(self.receive), methods=["POST"]),
        ]

    async def receive(self, request: Request) -> Response:
        raise NotImplementedError

    def _counted(self, endpoint: Callable[[Request], Awaitable[Response]]):
        async def counted(request: Request) -> Response:
            started = time.perf_counter()
            response = await endpoint(request)
            if self._telemetry is not None:
                outcome = getattr(request.state, "outcome", None) or _OUTCOMES.get(
                    response.status_code, f"http_{response.status_code}"
                )
                self._telemetry.callback_answered(
                    self._channel, outcome, time.perf_counter() - started
                )
            return response

        return counted

    async def verify_url(self, request: Request) -> Response:
        try:
            signature, timestamp, nonce, echostr = self._query(request, "echostr")
            self._check_timestamp(signature, timestamp, nonce, echostr)
            plain = self._crypto.open_echo(signature, timestamp, nonce, echostr)
            self._clock_watch.accepted()
            self._answered_echoes.check_first_use(signature, timestamp, nonce)
        except CallbackRejected as err:
            return self._refuse(request, err)
        except Exception:
            return self._refuse_unexpected(request)
        log.info("callback URL of %s verified by WeCom", self._channel)
        request.state.outcome = "verified"
        # WeCom compares the body byte for byte: the plain echo, nothing around it.
        return PlainTextResponse(plain)

    def _query(self, request: Request, *extra: str) -> tuple[str, ...]:
        values = {}
        for name in ("msg_signature", "timestamp", "nonce", *extra):
            given = request.query_params.getlist(name)
            if len(given) != 1 or not given[0]:
                raise MalformedCallback(f"query parameter '{name}' missing or repeated")
            values[name] = given[0]
        check_query_sizes(values)
        check_signature_shape(values["msg_signature"])
        check_timestamp_shape(values["timestamp"])
        return tuple(values.values())

    def _open_message(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> bytes:
        """The POST's Encrypt element, its timestamp checked, verified and decrypted."""
        self._check_timestamp(signature, timestamp, nonce, encrypted)
        plaintext = self._crypto.open_message(signature, timestamp, nonce, encrypted)
        self._clock_watch.accepted()
        return plaintext

    def _check_timestamp(self, signature: str, timestamp: str, nonce: str, signed: str) -> None:
        """Refuses a timestamp too far from our clock. Whether it was signed is looked at
        only then: a signed one tells the clock watch that our clock may be wrong, an
        unsigned one tells nothing (anyone can send it) and is refused for its signature."""
        offset = int(timestamp) - self._clock()
        if not self._max_skew or abs(offset) <= self._max_skew:
            return
        self._crypto.verify(signature, timestamp, nonce, signed)
        self._clock_watch.refused(signature, offset)
        # No amount in the reason: refusals are sampled by their reason (the amount is in the
        # clock watch's ACTION NEEDED line, when there is a pattern).
        direction = "ahead of" if offset > 0 else "behind"
        raise StaleTimestamp(
            f"timestamp is more than {self._max_skew}s {direction} this server's clock "
            "(a replay, or a clock to fix; see callback_max_skew_seconds)"
        )

    def _refuse(self, request: Request, err: CallbackRejected) -> Response:
        client = request.client.host if request.client else "?"
        # Anyone can send these: the log samples them by kind (infrastructure's RepeatedLines).
        log.warning(
            "callback to %s from %s refused with %d (%d): %s",
            self._channel, client, err.status, err.code, err.reason,
            extra={"repeat_key": ("callback refused", err.status, err.code, err.reason)},
        )
        # The caller learns only the class of problem; the details are in our log.
        return PlainTextResponse(_PUBLIC_REASONS.get(err.status, "bad request"), err.status)

    def _refuse_unexpected(self, request: Request) -> Response:
        # A bug met by odd input must not become a 500 (or a traceback) for the caller; the
        # traceback goes to our log, through the secret redactor like every other line.
        client = request.client.host if request.client else "?"
        log.exception(
            "callback to %s from %s refused with 400 after an unexpected error",
            self._channel, client,
            extra={"repeat_key": ("callback refused", "unexpected")},
        )
        return PlainTextResponse(_PUBLIC_REASONS[400], 400)

    def _not_recorded(self, err: Exception) -> Response:
        """Not recorded, so not acknowledged: WeCom's retry gets another chance. An outage
        answers thousands of these, so the log samples them by kind (RepeatedLines); a
        traceback is written only for what is not a known outage."""
        if isinstance(err, StoreUnavailable):
            log.warning(
                "could not record a callback to %s (%s); answered 503, WeCom will retry",
                self._channel,
                err,
                extra={"repeat_key": ("not recorded", self._channel, "store unavailable")},
            )
        else:
            log.error(
                "could not record a callback to %s; answered 503, WeCom will retry",
                self._channel,
                exc_info=err,
                extra={"repeat_key": ("not recorded", self._channel, type(err).__name__)},
            )
        return Response("temporarily unavailable", status_code=503)


_PUBLIC_REASONS = {400: "bad request", 403: "forbidden", 413: "request too large"}


async def read_limited(request: Request, limit: int) -> bytes:
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
