"""Calls to an OpenAI-compatible server (chat, images, audio transcriptions) with bounded
retries where another attempt can help, every failure told in plain words as the port's own
error, and the API key never repeated: servers quote (part of) a rejected key in their error
messages.

A server that is busy (429) is waited for as it asks (see busy_server), for up to
`busy_patience_seconds` in all. Calls may also be given a first-token deadline and a hedge
(see hedged_start)."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    wait_exponential,
    wait_random,
)

from adapters.outbound.bounded_read import read_at_most
from adapters.outbound.openai.busy_server import BusyPatience, asked_wait, retry_after
from adapters.outbound.openai.hedged_start import NoStart, Started, hedged_start
from adapters.outbound.public_hosts import public_host_problem
from domain.url_origins import Origin, TrustedOrigins

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

_T = TypeVar("_T")


@dataclass(frozen=True)
class _Budget:
    """What one streamed answer may take in all: until `deadline` (the event loop's clock,
    `seconds` after the request), and `limit` characters."""

    deadline: float
    seconds: float
    limit: int


class _Transient(Exception):
    """A failure another attempt may cure: rate limits, server errors, timeouts, lost links.
    `retry_after`: the server's own word on when to try again (seconds), if it gave one."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class OpenAICompatibleHttp:
    """`error` is the port's exception class; `server` names the server in its messages
    ("image server", "speech-to-text server"); `hints` explain a 4xx in terms of the settings
    the adapter's users know; retries are logged to `logger`, the adapter's own."""

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
        hints: Mapping[int, str] = _CLIENT_ERROR_HINTS,
        logger: logging.Logger = log,
        first_token_seconds: float | None = None,
        hedge_after_seconds: float | None = None,
        busy_patience_seconds: float = 60.0,
    ):
        if retry_attempts < 1:
            raise ValueError("retry_attempts must be at least 1")
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._own_origin = TrustedOrigins([self._base_url])
        self._api_key = api_key or None
        self._error = error
        self._server = server
        self._attempts = retry_attempts
        self._hints = hints
        self._log = logger
        self._first_token_seconds = first_token_seconds
        self._hedge_after = hedge_after_seconds
        self._busy_patience = busy_patience_seconds
        # Jitter keeps several workers that failed together from retrying in lockstep.
        self._wait = wait_exponential(
            multiplier=retry_initial_wait, max=retry_max_wait
        ) + wait_random(0, retry_initial_wait)

    async def post(self, path: str, limit: int, **content: Any) -> dict[str, Any]:
        """The JSON object answered to a POST of `content` (httpx's json=, files=, data=) to
        base_url + path; at most `limit` bytes of it are read."""
        try:
            answer = json.loads(await self.post_for_bytes(path, limit, **content))
        except ValueError:
            raise self._error(f"{self._server} returned invalid JSON") from None
        if not isinstance(answer, dict):
            raise self._error(f"{self._server} returned JSON that is not an object")
        return answer

    async def post_for_bytes(self, path: str, limit: int, **content: Any) -> bytes:
        """As `post`, for callers that judge the answer's JSON themselves."""
        return (await self.post_for_answers(path, limit, **content))[0]

    async def post_for_answers(self, path: str, limit: int, **content: Any) -> list[bytes]:
        """As `post_for_bytes`, and after the answer kept, any other that a hedge (see
        hedged_start) got too: the server charged for those as well."""
        url = httpx.URL(self._base_url + path)
        return await self._retried(lambda: self._answers_once(url, limit, content))

    @asynccontextmanager
    async def post_for_lines(
        self, path: str, *, total_seconds: float, limit: int, **content: Any
    ) -> AsyncIterator[AsyncIterator[str]]:
        """The lines of the answer to a POST, read as they arrive (server-sent events).
        Retried only until the answer starts: starting over after its first line would give
        the caller the beginning twice. A failure after that is the port's error at once.
        The client's timeout bounds each wait for bytes; a server that trickles them, or sends
        keep-alives for ever, is stopped by `total_seconds` for the whole answer and by `limit`
        characters for all of its lines."""
        url = httpx.URL(self._base_url + path)
        deadline = asyncio.get_running_loop().time() + total_seconds
        response, first, rest = await self._retried(
            lambda: self._stream_once(url, content, total_seconds)
        )
        lines = self._lines(first, rest, url, _Budget(deadline, total_seconds, limit))
        try:
            yield lines
        finally:
            await lines.aclose()
            await response.aclose()

    async def download(self, url: str, limit: int) -> bytes:
        """A file the server points to (an image's URL). Without the API key: such URLs are
        signed, and often on another host that has no business seeing the key. The server
        names the URL, so it must not lead into this service's own network (see
        public_hosts): only the server's own origin, or a host name that resolves to public
        addresses alone, is fetched."""
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL:
            target = None
        if target is None or target.scheme not in ("http", "https") or not target.host:
            raise self._error(f"{self._server} answered a URL that is not http(s)")
        origin = Origin.named(target.scheme, target.host, target.port)
        if not self._own_origin.admits_origin(origin):
            problem = await public_host_problem(origin)
            if problem:
                raise self._error(f"{self._server} answered a URL {problem}")
        return await self._retried(lambda: self._once(target, limit, method="GET"))

    def redact(self, text: str) -> str:
        """`text` (from the server) without the API key."""
        return text.replace(self._api_key, "***") if self._api_key else text

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    async def _retried(self, once: Callable[[], Awaitable[_T]]) -> _T:
        retrying = AsyncRetrying(
            stop=BusyPatience(self._attempts, self._busy_patience),
            wait=self._wait_for,
            retry=retry_if_exception_type(_Transient),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    result = await once()
        except _Transient as err:
            made = retrying.statistics.get("attempt_number", self._attempts)
            raise self._error(f"{err}; attempts: {made}") from None
        return result

    def _wait_for(self, state: RetryCallState) -> float:
        asked = asked_wait(state)
        if asked is None:
            return self._wait(state)
        # A little later than told, by a random share: the calls a busy server turned away
        # together do not all come back in the same instant.
        return asked * (1.0 + 0.25 * random.random())

    async def _answers_once(
        self, url: httpx.URL, limit: int, content: dict[str, Any]
    ) -> list[bytes]:
        started = await self._started(
            lambda: self._opened_once(url, method="POST", headers=self._headers(), **content),
            url,
            within=self._first_token_seconds,
            discard=_close,
        )
        failure: Exception
        try:
            kept = await self._body(started.kept, url, limit)
            return [kept, *[await self._extra_body(r, url, limit) for r in started.also_answered]]
        except httpx.HTTPError as err:
            failure = self._failure(err, url)
        finally:
            for response in (started.kept, *started.also_answered):
                await response.aclose()
        raise failure

    async def _extra_body(self, response: httpx.Response, url: httpx.URL, limit: int) -> bytes:
        """A hedge's other answer, read for what it cost only: unreadable, it counts nothing."""
        try:
            return await self._body(response, url, limit)
        except (httpx.HTTPError, self._error):
            return b""

    async def _stream_once(
        self, url: httpx.URL, content: dict[str, Any], total_seconds: float
    ) -> tuple[httpx.Response, str | None, AsyncIterator[str]]:
        """An opened stream and its first line: the first token, for a stream, is the first
        line of its body, not its headers (servers send those before the model begins)."""

        async def opened_with_first_line():
            response = await self._opened_once(
                url, method="POST", headers=self._headers(), **content
            )
            lines = response.aiter_lines()
            failure: Exception
            try:
                return response, await anext(lines, None), lines
            except httpx.HTTPError as err:
                failure = self._failure(err, url)
            except BaseException:
                await response.aclose()
                raise
            await response.aclose()
            raise failure

        started = await self._started(
            opened_with_first_line,
            url,
            within=min(self._first_token_seconds or total_seconds, total_seconds),
            discard=lambda opened: _close(opened[0]),
        )
        # A stream cut short by the hedge was not finished, so it is not counted.
        for response, _, _ in started.also_answered:
            await response.aclose()
        return started.kept

    async def _started(
        self,
        start: Callable[[], Awaitable[_T]],
        url: httpx.URL,
        *,
        within: float | None,
        discard: Callable[[_T], Awaitable[None]],
    ) -> Started[_T]:
        try:
            return await hedged_start(
                start, within=within, hedge_after=self._hedge_after, discard=discard
            )
        except NoStart:
            hedged = " (and a second call)" if self._hedge_after is not None else ""
            message = (
                f"{self._server} did not begin to answer within {within:g}s{hedged} "
                f"at {_where(url)}"
            )
        # A server that has not begun may be hung: another attempt would keep the member
        # waiting as long again, so this is the port's error at once.
        raise self._error(message)

    async def _once(self, url: httpx.URL, limit: int, **request: Any) -> bytes:
        failure: Exception
        try:
            response = await self._opened(url, **request)
            try:
                return await self._body(response, url, limit)
            finally:
                await response.aclose()
        except httpx.HTTPError as err:
            failure = self._failure(err, url)
        # Raised outside the except block: httpx's error is not chained onto ours.
        raise failure

    async def _opened_once(self, url: httpx.URL, **request: Any) -> httpx.Response:
        failure: Exception
        try:
            return await self._opened(url, **request)
        except httpx.HTTPError as err:
            failure = self._failure(err, url)
        raise failure

    async def _opened(self, url: httpx.URL, *, method: str, **request: Any) -> httpx.Response:
        """The response, its body still unread (the caller closes it), unless it is refused."""
        response = await self._client.send(
            self._client.build_request(method, url, **request), stream=True
        )
        status = response.status_code
        if status < 400:
            return response
        try:
            if status == 429:
                raise _Transient(
                    f"{self._server} answered 429 (busy)", retry_after(response.headers)
                )
            if status >= 500:
                raise _Transient(f"{self._server} answered {status}")
            hint = self._hints.get(status)
            if hint is None:
                explained = await read_at_most(response, _ERROR_TEXT_LIMIT)
                hint = self.redact(_server_message(explained))
            raise self._error(f"{self._server} answered {status} ({hint})")
        finally:
            await response.aclose()

    async def _body(self, response: httpx.Response, url: httpx.URL, limit: int) -> bytes:
        body = await read_at_most(response, limit)
        if body is None:
            raise self._error(
                f"{self._server} answered more than {limit:,} bytes from {_where(url)}"
            )
        return body

    async def _lines(
        self, first: str | None, lines: AsyncIterator[str], url: httpx.URL, budget: _Budget
    ) -> AsyncIterator[str]:
        failure: Exception
        received = 0
        line = first
        try:
            while True:
                if line is None:
                    return
                received += len(line) + 1
                if received > budget.limit:
                    raise self._error(
                        f"{self._server} answered more than {budget.limit:,} characters "
                        f"from {_where(url)}"
                    )
                yield line
                # The deadline covers each wait only, never the caller's work between lines.
                async with asyncio.timeout_at(budget.deadline):
                    line = await anext(lines, None)
        except TimeoutError:
            failure = self._error(
                f"{self._server} did not finish its answer within {budget.seconds:g}s "
                f"at {_where(url)}"
            )
        except httpx.TimeoutException as err:
            failure = self._error(self._timed_out(err, url, " in the middle of its answer"))
        except httpx.HTTPError as err:
            failure = self._error(f"the answer from {_where(url)} broke off ({_kind(err)})")
        raise failure

    def _failure(self, err: httpx.HTTPError, url: httpx.URL) -> Exception:
        if isinstance(err, httpx.TimeoutException):
            return _Transient(self._timed_out(err, url))
        if isinstance(err, (httpx.NetworkError, httpx.RemoteProtocolError)):
            return _Transient(f"{self._server} unreachable at {_where(url)} ({_kind(err)})")
        return self._error(f"request to {_where(url)} failed ({_kind(err)})")

    def _timed_out(self, err: httpx.TimeoutException, url: httpx.URL, during: str = "") -> str:
        seconds = getattr(self._client.timeout, _TIMEOUT_KINDS.get(type(err), "read"))
        after = f" after {seconds:g}s" if seconds else ""
        return f"{self._server} timed out{after}{during} at {_where(url)}"

    def _log_retry(self, state: RetryCallState) -> None:
        self._log.warning(
            "%s call attempt %d failed (%s); retrying in %.1fs",
            self._server,
            state.attempt_number,
            state.outcome.exception() if state.outcome else "unknown",
            state.next_action.sleep if state.next_action else 0.0,
        )


async def _close(response: httpx.Response) -> None:
    await response.aclose()


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
