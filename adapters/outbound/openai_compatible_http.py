"""Calls to an OpenAI-compatible server (images, audio transcriptions) with bounded retries
where another attempt can help, every failure told in plain words as the port's own error, and
the API key never repeated: servers quote (part of) a rejected key in their error messages."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from adapters.outbound.bounded_read import read_at_most

log = logging.getLogger(__name__)

# A 4xx explained by the setting most likely to be wrong; for auth failures the server's own
# text is not shown at all.
_CLIENT_ERROR_HINTS = {
    401: "check its API key",
    403: "check its API key and the key's access to the model",
    404: "check its base URL and the model name",
}
_ERROR_TEXT_LIMIT = 64 * 1024
_TIMEOUT_KINDS = {
    httpx.ConnectTimeout: "connect",
    httpx.WriteTimeout: "write",
    httpx.PoolTimeout: "pool",
}


class _Transient(Exception):
    """A failure another attempt may cure: rate limits, server errors, timeouts, lost links."""


class OpenAICompatibleHttp:
    """`error` is the port's exception class; `server` names the server in its messages
    ("image server", "speech-to-text server")."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str | None,
        *,
        error: type[Exception],
        server: str,
        retry_attempts: int,
        retry_initial_wait: float,
        retry_max_wait: float,
    ):
        if retry_attempts < 1:
            raise ValueError("retry_attempts must be at least 1")
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key or None
        self._error = error
        self._server = server
        self._attempts = retry_attempts
        # Jitter keeps several workers that failed together from retrying in lockstep.
        self._wait = wait_exponential(
            multiplier=retry_initial_wait, max=retry_max_wait
        ) + wait_random(0, retry_initial_wait)

    async def post(self, path: str, limit: int, **content: Any) -> dict[str, Any]:
        """The JSON object answered to a POST of `content` (httpx's json=, files=, data=) to
        base_url + path; at most `limit` bytes of it are read."""
        url = httpx.URL(self._base_url + path)
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        body = await self._retried(url, limit, method="POST", headers=headers, **content)
        try:
            answer = json.loads(body)
        except ValueError:
            raise self._error(f"{self._server} returned invalid JSON") from None
        if not isinstance(answer, dict):
            raise self._error(f"{self._server} returned JSON that is not an object")
        return answer

    async def download(self, url: str, limit: int) -> bytes:
        """A file the server points to (an image's URL). Without the API key: such URLs are
        signed, and often on another host that has no business seeing the key."""
        target = httpx.URL(url)
        if target.scheme not in ("http", "https"):
            raise self._error(f"{self._server} answered a URL that is not http(s)")
        return await self._retried(target, limit, method="GET")

    async def _retried(self, url: httpx.URL, limit: int, **request: Any) -> bytes:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    body = await self._once(url, limit, **request)
        except _Transient as err:
            raise self._error(f"{err}; attempts: {self._attempts}") from None
        return body

    async def _once(self, url: httpx.URL, limit: int, *, method: str, **request: Any) -> bytes:
        failure: Exception
        try:
            async with self._client.stream(method, url, **request) as response:
                return await self._body(response, url, limit)
        except httpx.TimeoutException as err:
            failure = _Transient(self._timed_out(err, url))
        except (httpx.NetworkError, httpx.RemoteProtocolError) as err:
            failure = _Transient(f"{self._server} unreachable at {_where(url)} ({_kind(err)})")
        except httpx.HTTPError as err:
            failure = self._error(f"request to {_where(url)} failed ({_kind(err)})")
        # Raised outside the except block: httpx's error is not chained onto ours.
        raise failure

    async def _body(self, response: httpx.Response, url: httpx.URL, limit: int) -> bytes:
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Transient(f"{self._server} answered {status}")
        if status >= 400:
            hint = _CLIENT_ERROR_HINTS.get(status)
            if hint is None:
                explained = await read_at_most(response, _ERROR_TEXT_LIMIT)
                hint = self._redact(_server_message(explained))
            raise self._error(f"{self._server} answered {status} ({hint})")
        body = await read_at_most(response, limit)
        if body is None:
            raise self._error(
                f"{self._server} answered more than {limit:,} bytes from {_where(url)}"
            )
        return body

    def _timed_out(self, err: httpx.TimeoutException, url: httpx.URL) -> str:
        seconds = getattr(self._client.timeout, _TIMEOUT_KINDS.get(type(err), "read"))
        after = f" after {seconds:g}s" if seconds else ""
        return f"{self._server} timed out{after} at {_where(url)}"

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _log_retry(self, state: RetryCallState) -> None:
        log.warning(
            "%s call attempt %d of %d failed (%s); retrying in %.1fs",
            self._server,
            state.attempt_number,
            self._attempts,
            state.outcome.exception() if state.outcome else "unknown",
            state.next_action.sleep if state.next_action else 0.0,
        )


def _where(url: httpx.URL) -> str:
    # Never the userinfo or query of the URL: someone may have put a credential there, and an
    # image URL's query is its signature.
    return f"{url.scheme}://{url.netloc.decode('ascii')}{url.path}"


def _kind(err: Exception) -> str:
    return type(err).__name__


def _server_message(body: bytes | None) -> str:
    """The server's own explanation of a refused request (e.g. a content policy), kept short."""
    try:
        error = json.loads(body or b"").get("error")
    except (ValueError, AttributeError):
        error = None
    message = error.get("message") if isinstance(error, dict) else error
    return message[:200] if isinstance(message, str) and message else "no reason given"
