"""WeComApi: one call to WeCom's API done right, whatever the endpoint.

It adds the access token (renewed once when WeCom rejects it early), retries what WeCom says is
temporary, stops at once on what only an operator can fix (wecom_errors says what to fix), reads
no answer without bound, and keeps the corp secret and the access token out of every error and
log line. Both travel in URL query strings, and httpx puts the URL into its exception messages,
so no httpx error is ever chained onto the DeliveryError raised in its place.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, cast

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from adapters.outbound.bounded_read import read_at_most
from adapters.outbound.wecom.wecom_access_token import WeComAccessTokens, token_cache_key
from adapters.outbound.wecom.wecom_errors import (
    TOKEN_REJECTED,
    refusal,
    shown_url,
    unreachable,
    worth_retrying,
)
from application.ports.shared_state import AccessTokenCache, LeaseStore
from application.ports.wecom import DeliveryError, TokenStatus

logger = logging.getLogger(__name__)

GETTOKEN = "/cgi-bin/gettoken"

# WeCom's JSON answers are small; anything this large is not WeCom speaking.
_JSON_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    params: Mapping[str, str]
    payload: Any = None
    files: Any = None
    # Set for a download: an answer that is not WeCom's JSON is the media, up to this size.
    media_limit: int | None = None
    tolerated: Collection[int] = ()


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    logger.warning(
        "WeCom call attempt %d failed (%s); retrying in %.2fs",
        state.attempt_number,
        getattr(error, "reason", type(error).__name__),
        state.next_action.sleep if state.next_action else 0.0,
    )


def _wecom_json(content: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def _answer(response: httpx.Response, request: _Request) -> dict[str, Any] | bytes:
    path, status = request.path, response.status_code
    if status >= 500 or status == 429:
        raise DeliveryError(f"WeCom {path} answered HTTP {status}", permanent=False)
    if status != 200:
        raise DeliveryError(
            f"WeCom {path} answered HTTP {status}; check services.weworktop.api_base_url",
            permanent=True,
        )
    limit = request.media_limit or _JSON_LIMIT
    content = await read_at_most(response, limit)
    if content is None:
        raise DeliveryError(
            f"WeCom {path} answered with more than {limit:,} bytes, more than weworktop takes",
            permanent=True,
        )
    body = _wecom_json(content)
    if request.media_limit is not None:
        # media/get answers the raw file, or WeCom's JSON when it refuses.
        json_like = "json" in response.headers.get("content-type", "")
        refusal = (json_like or content.startswith(b"{")) and body is not None
        return body if refusal and "errcode" in body else content
    if body is None:
        raise DeliveryError(
            f"WeCom {path} answered with something other than a JSON object", permanent=False
        )
    return body


class WeComApi:
    """Calls WeCom with the app's token. `client` must carry a timeout, so that one call takes
    at most about retry_attempts x timeout plus the backoff waits."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        api_base_url: str,
        corp_id: str,
        corp_secret: str,
        token_cache: AccessTokenCache,
        leases: LeaseStore,
        owner: str,
        *,
        clock: Callable[[], float],
        fetch_lease_seconds: float,
        retry_attempts: int,
        retry_initial_wait: float,
        retry_max_wait: float,
        observe: Callable[[str, str], None] = lambda endpoint, errcode: None,
    ):
        self._client = client
        self._observe = observe
        self._base_url = api_base_url.rstrip("/")
        self._corp_id = corp_id
        self._corp_secret = corp_secret
        self._tokens = WeComAccessTokens(
            self._fetch_token,
            token_cache,
            token_cache_key(corp_id, corp_secret),
            leases,
            owner,
            clock=clock,
            fetch_lease_seconds=fetch_lease_seconds,
        )
        self._retry_attempts = retry_attempts
        self._retry_initial_wait = retry_initial_wait
        self._retry_max_wait = retry_max_wait

    async def call(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        payload: Any = None,
        files: Any = None,
        tolerated: Collection[int] = (),
    ) -> dict[str, Any]:
        """WeCom's JSON answer. An errcode in `tolerated` comes back in it (the caller knows
        what it means); any other refusal raises DeliveryError."""
        request = _Request(method, path, params or {}, payload, files, tolerated=tolerated)
        return cast(dict[str, Any], await self._with_retries(request))

    async def token_status(self) -> TokenStatus:
        return await self._tokens.status()

    async def download(self, path: str, params: Mapping[str, str], limit: int) -> bytes:
        """The raw bytes WeCom serves, at most `limit` of them."""
        answer = await self._with_retries(_Request("GET", path, params, media_limit=limit))
        if isinstance(answer, dict):
            raise DeliveryError(f"WeCom {path} answered without the media", permanent=True)
        return answer

    async def _with_retries(self, request: _Request) -> dict[str, Any] | bytes:
        # A fresh AsyncRetrying per call: tenacity keeps per-run state on the object.
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry_attempts),
            wait=wait_exponential(multiplier=self._retry_initial_wait, max=self._retry_max_wait)
            + wait_random(0, self._retry_initial_wait),
            retry=retry_if_exception(worth_retrying),
            before_sleep=_log_retry,
            reraise=True,
        )
        return await retrying(self._with_token, request)

    async def _with_token(self, request: _Request) -> dict[str, Any] | bytes:
        token = await self._tokens.current()
        answer = await self._exchange(request, token)
        if isinstance(answer, dict) and answer.get("errcode") in TOKEN_REJECTED:
            logger.info(
                "WeCom rejected the access token early (errcode %s); renewing it",
                answer["errcode"],
            )
            token = await self._tokens.renew(rejected=token)
            answer = await self._exchange(request, token)
        if isinstance(answer, dict) and answer.get("errcode", 0) not in request.tolerated:
            self._raise_if_refused(answer, request.path, token)
        return answer

    def _raise_if_refused(self, body: dict[str, Any], path: str, token: str = "") -> None:
        failure = refusal(body, path, hidden=(self._corp_secret, token))
        if failure is not None:
            raise failure

    async def _fetch_token(self) -> tuple[str, float]:
        params = {"corpid": self._corp_id, "corpsecret": self._corp_secret}
        body = cast(dict[str, Any], await self._exchange(_Request("GET", GETTOKEN, params)))
        self._raise_if_refused(body, GETTOKEN)
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, (int, float)):
            raise DeliveryError(f"WeCom {GETTOKEN} answered without a token", permanent=False)
        logger.info(
            "Fetched a WeCom access token for corp %s, valid for %ss", self._corp_id, expires_in
        )
        return token, float(expires_in)

    async def _exchange(
        self, request: _Request, token: str | None = None
    ) -> dict[str, Any] | bytes:
        """One exchange with WeCom, counted by endpoint and errcode for /metrics."""
        endpoint = request.path.removeprefix("/cgi-bin/")
        try:
            answer = await self._exchange_once(request, token)
        except DeliveryError:
            self._observe(endpoint, "unanswered")
            raise
        errcode = answer.get("errcode", 0) if isinstance(answer, dict) else 0
        self._observe(endpoint, str(errcode))
        return answer

    async def _exchange_once(
        self, request: _Request, token: str | None
    ) -> dict[str, Any] | bytes:
        """One exchange with WeCom: its JSON answer whatever the errcode, or the media."""
        params = dict(request.params)
        if token is not None:
            params["access_token"] = token
        try:
            async with self._client.stream(
                request.method,
                self._base_url + request.path,
                params=params,
                json=request.payload,
                files=request.files,
            ) as response:
                return await _answer(response, request)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            failure = unreachable(error, shown_url(self._base_url, request.path))
        # Raised outside the except block so that the httpx error, whose message holds the URL
        # with the secret or the token, is not chained onto it as __context__.
        raise failure
