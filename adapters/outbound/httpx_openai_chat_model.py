"""The ChatModel port over any OpenAI-compatible chat-completions server (OpenAI, DeepSeek,
Qwen compatible mode, Ollama, vLLM), with bounded retries where another attempt can help."""

from __future__ import annotations

import logging
from collections.abc import Sequence
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

from application.ports import ChatMessage, ChatModelError

log = logging.getLogger(__name__)

# A 4xx explained in terms of the setting most likely to be wrong; the server's own text is
# not shown for auth failures because servers quote (part of) the rejected key there.
_CLIENT_ERROR_HINTS = {
    401: "check llm.api_key",
    403: "check llm.api_key and its access to llm.model",
    404: "check llm.base_url and llm.model",
}
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
        body: dict[str, Any] = {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
        }
        if self._temperature is not None:
            body["temperature"] = self._temperature
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
                    response = await self._post(body, headers)
        except _Transient as err:
            raise ChatModelError(f"{err}; attempts: {self._attempts}") from err
        return _answer_from(response)

    async def _post(self, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        try:
            response = await self._client.post(self._url, json=body, headers=headers)
        except httpx.TimeoutException as err:
            raise _Transient(self._timed_out(err)) from err
        except (httpx.NetworkError, httpx.RemoteProtocolError) as err:
            reason = f"model server unreachable at {self._where()} ({type(err).__name__})"
            raise _Transient(reason) from err
        except httpx.HTTPError as err:
            reason = f"request to {self._where()} failed ({type(err).__name__})"
            raise ChatModelError(reason) from err
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Transient(f"model server answered {status}")
        if status >= 400:
            hint = _CLIENT_ERROR_HINTS.get(status) or self._redact(_server_message(response))
            raise ChatModelError(f"model server answered {status} ({hint})")
        return response

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


def _server_message(response: httpx.Response) -> str:
    """The server's own explanation of a rejected request (e.g. context too long), kept short."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    message = error.get("message") if isinstance(error, dict) else error
    text = message if isinstance(message, str) and message else response.reason_phrase
    return text[:200]
