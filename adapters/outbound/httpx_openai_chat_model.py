"""The ChatModel port over any OpenAI-compatible chat-completions server (OpenAI, DeepSeek,
Qwen compatible mode, Ollama, vLLM), answered whole or streamed (server-sent events), with
bounded retries where another attempt can help."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
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
from adapters.outbound.openai_sse import DONE, event_data, piece_of
from application.ports import ChatMessage, ChatModelError

log = logging.getLogger(__name__)

# A 4xx explained in terms of the setting most likely to be wrong; the server's own text is
# not shown for auth failures because servers quote (part of) the rejected key there.
_CLIENT_ERROR_HINTS = {
    401: "check llm.api_key",
    403: "check llm.api_key and its access to llm.model",
    404: "check llm.base_url and llm.model",
}
_ERROR_TEXT_LIMIT = 64 * 1024
_TIMEOUT_KINDS = {
    httpx.ConnectTimeout: "connect",
    httpx.ReadTimeout: "read",
    httpx.WriteTimeout: "write",
    httpx.PoolTimeout: "pool",
}


class _Transient(ChatModelError):
    """A failure another attempt may cure: rate limits, server errors, timeouts, lost links."""


class HttpxOpenAIChatModel:
    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str | None,
        model: str,
        temperature: float | None = None,
        *,
        retry_attempts: int = 3,
        retry_initial_wait: float = 1.0,
        retry_max_wait: float = 10.0,
    ):
        if retry_attempts < 1:
            raise ValueError("retry_attempts must be at least 1")
        self._client = client
        self._url = httpx.URL(base_url.rstrip("/") + "/chat/completions")
        self._api_key = api_key or None
        self._model = model
        self._temperature = temperature
        self._attempts = retry_attempts
        # Jitter keeps several workers that failed together from retrying in lockstep.
        self._wait = wait_exponential(
            multiplier=retry_initial_wait, max=retry_max_wait
        ) + wait_random(0, retry_initial_wait)

    async def complete(self, messages: Sequence[ChatMessage], max_tokens: int) -> str:
        response = await self._retried(self._body(messages, max_tokens), stream=False)
        return _answer_from(response)

    async def stream(
        self, messages: Sequence[ChatMessage], max_tokens: int
    ) -> AsyncIterator[str]:
        # Retried only until the answer starts: starting over after its first piece would show
        # the member the beginning twice.
        body = {**self._body(messages, max_tokens), "stream": True}
        response = await self._retried(body, stream=True)
        try:
            async for data in event_data(response.aiter_lines()):
                if data.strip() == DONE:
                    return
                try:
                    piece = piece_of(data)
                except ChatModelError as err:
                    raise ChatModelError(self._redact(str(err))) from None
                if piece:
                    yield piece
        except httpx.TimeoutException as err:
            raise ChatModelError(self._timed_out(err) + " in the middle of its answer") from err
        except httpx.HTTPError as err:
            reason = f"the answer from {self._where()} broke off ({type(err).__name__})"
            raise ChatModelError(reason) from err
        finally:
            await response.aclose()

    def _body(self, messages: Sequence[ChatMessage], max_tokens: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
        }
        if self._temperature is not None:
            body["temperature"] = self._temperature
        return body

    async def _retried(self, body: dict[str, Any], *, stream: bool) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
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
                    response = await self._post(body, headers, stream=stream)
        except _Transient as err:
            raise ChatModelError(f"{err}; attempts: {self._attempts}") from err
        return response

    async def _post(
        self, body: dict[str, Any], headers: dict[str, str], *, stream: bool
    ) -> httpx.Response:
        """The server's answer; with `stream`, still open (the caller closes it) unless refused."""
        request = self._client.build_request("POST", self._url, json=body, headers=headers)
        try:
            response = await self._client.send(request, stream=stream)
        except httpx.TimeoutException as err:
            raise _Transient(self._timed_out(err)) from err
        except (httpx.NetworkError, httpx.RemoteProtocolError) as err:
            reason = f"model server unreachable at {self._where()} ({type(err).__name__})"
            raise _Transient(reason) from err
        except httpx.HTTPError as err:
            reason = f"request to {self._where()} failed ({type(err).__name__})"
            raise ChatModelError(reason) from err
        status = response.status_code
        if status < 400:
            return response
        explained = response.content if not stream else await self._refusal_text(response)
        if status == 429 or status >= 500:
            raise _Transient(f"model server answered {status}")
        hint = _CLIENT_ERROR_HINTS.get(status) or self._redact(
            _server_message(explained, response.reason_phrase)
        )
        raise ChatModelError(f"model server answered {status} ({hint})")

    @staticmethod
    async def _refusal_text(response: httpx.Response) -> bytes:
        # A refusal explains itself in a few bytes; a misbehaving server's page is not read whole.
        try:
            return await read_at_most(response, _ERROR_TEXT_LIMIT) or b""
        finally:
            await response.aclose()

    def _timed_out(self, err: httpx.TimeoutException) -> str:
        seconds = getattr(self._client.timeout, _TIMEOUT_KINDS.get(type(err), "read"))
        return "model server timed out" + (f" after {seconds:g}s" if seconds else "")

    def _where(self) -> str:
        # Never the userinfo or query of the URL: someone may have put a credential there.
        return f"{self._url.scheme}://{self._url.netloc.decode('ascii')}{self._url.path}"

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _log_retry(self, state: RetryCallState) -> None:
        log.warning(
            "model call attempt %d of %d failed (%s); retrying in %.1fs",
            state.attempt_number,
            self._attempts,
            state.outcome.exception() if state.outcome else "unknown",
            state.next_action.sleep if state.next_action else 0.0,
        )


def _answer_from(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        raise ChatModelError("model server returned invalid JSON") from None
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ChatModelError("model server returned no choices")
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        reason = choices[0].get("finish_reason")
        raise ChatModelError(f"model server returned no text (finish_reason: {reason})")
    return content


def _server_message(body: bytes, reason_phrase: str) -> str:
    """The server's own explanation of a rejected request (e.g. context too long), kept short."""
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        error = None
    message = error.get("message") if isinstance(error, dict) else error
    text = message if isinstance(message, str) and message else reason_phrase
    return text[:200]
