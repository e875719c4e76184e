"""The ChatModel port over any OpenAI-compatible chat-completions server (OpenAI, DeepSeek,
Qwen compatible mode, Ollama, vLLM), answered whole or streamed (server-sent events), with
bounded retries where another attempt can help.

At most `max_concurrency` calls are at the server at once (the rest wait here, in order):
the bound follows what the server can take, not how many conversations are handled. Each
call may have a first-token deadline and a hedge (see hedged_start)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from adapters.outbound.openai.openai_compatible_http import OpenAICompatibleHttp
from adapters.outbound.openai.openai_sse import DONE, chunk_of, event_data, piece_of
from adapters.outbound.openai.openai_usage import usage_of
from application.ports.models import ChatAnswer, ChatMessage, ChatModelError, ImagePart
from domain.usage import Usage

log = logging.getLogger(__name__)

# A 4xx explained in terms of the setting most likely to be wrong.
_CLIENT_ERROR_HINTS = {
    401: "check llm.api_key",
    403: "check llm.api_key and its access to llm.model",
    404: "check llm.base_url and llm.model",
}
# Far more than any answer within a member's max_tokens, reasoning included; a misbehaving
# server's endless body (or endless keep-alives, streamed) is not read whole.
_ANSWER_MAX_BYTES = 8 * 1024 * 1024
_PATH = "/chat/completions"


class HttpxOpenAIChatModel:
    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str | None,
        model: str,
        temperature: float | None = None,
        vision_model: str | None = None,
        *,
        answer_seconds: float = 600.0,
        retry_attempts: int = 3,
        retry_initial_wait: float = 1.0,
        retry_max_wait: float = 10.0,
        max_concurrency: int = 256,
        first_token_seconds: float | None = None,
        hedge_after_seconds: float | None = None,
        busy_patience_seconds: float = 60.0,
    ):
        self._model = model
        self._at_the_server = asyncio.Semaphore(max_concurrency)
        self._vision_model = vision_model or model
        self._temperature = temperature
        self._answer_seconds = answer_seconds
        self._http = OpenAICompatibleHttp(
            client,
            base_url,
            api_key,
            error=ChatModelError,
            server="model server",
            retry_attempts=retry_attempts,
            retry_initial_wait=retry_initial_wait,
            retry_max_wait=retry_max_wait,
            hints=_CLIENT_ERROR_HINTS,
            logger=log,
            first_token_seconds=first_token_seconds,
            hedge_after_seconds=hedge_after_seconds,
            busy_patience_seconds=busy_patience_seconds,
        )

    async def complete(self, messages: Sequence[ChatMessage], max_tokens: int) -> ChatAnswer:
        body = self._body(messages, max_tokens)
        async with self._at_the_server:
            kept, *also = await self._http.post_for_answers(_PATH, _ANSWER_MAX_BYTES, json=body)
        answer = _answer_from(kept)
        # A hedge's other call that answered too was charged for: its count is added.
        for other in also:
            answer = ChatAnswer(answer.text, _total(answer.usage, _usage_in(other)))
        return answer

    async def stream(
        self, messages: Sequence[ChatMessage], max_tokens: int
    ) -> AsyncIterator[str | Usage]:
        # Without include_usage a server counts nothing for a stream; servers that predate
        # the option ignore it.
        body = {
            **self._body(messages, max_tokens),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        usage = None
        async with self._at_the_server, self._http.post_for_lines(
            _PATH, total_seconds=self._answer_seconds, limit=_ANSWER_MAX_BYTES, json=body
        ) as lines:
            async for data in event_data(lines):
                if data.strip() == DONE:
                    break
                try:
                    chunk = chunk_of(data)
                except ChatModelError as err:
                    # An error chunk may quote the key, as refusals do.
                    raise ChatModelError(self._http.redact(str(err))) from None
                usage = usage_of(chunk) or usage
                piece = piece_of(chunk)
                if piece:
                    yield piece
        if usage is not None:
            yield usage

    def _body(self, messages: Sequence[ChatMessage], max_tokens: int) -> dict[str, Any]:
        with_pictures = any(m.images for m in messages)
        body: dict[str, Any] = {
            "model": self._vision_model if with_pictures else self._model,
            "messages": [{"role": m.role, "content": _content(m)} for m in messages],
            "max_tokens": max_tokens,
        }
        if self._temperature is not None:
            body["temperature"] = self._temperature
        return body


def _content(message: ChatMessage) -> str | list[dict[str, Any]]:
    """OpenAI's content: the text, or content parts (text, and image_url with a data: URL)."""
    if isinstance(message.content, str):
        return message.content
    return [
        {"type": "image_url", "image_url": {"url": part.url}}
        if isinstance(part, ImagePart)
        else {"type": "text", "text": part.text}
        for part in message.content
    ]


def _usage_in(body: bytes) -> Usage | None:
    try:
        return usage_of(json.loads(body))
    except ValueError:
        return None


def _total(one: Usage | None, other: Usage | None) -> Usage | None:
    if one is None or other is None:
        return one or other
    return Usage(
        tokens_in=one.tokens_in + other.tokens_in, tokens_out=one.tokens_out + other.tokens_out
    )


def _answer_from(body: bytes) -> ChatAnswer:
    # Judged here rather than by OpenAICompatibleHttp.post: an answer that is JSON but not an
    # object is told as one without choices, like any other answer lacking them.
    try:
        data = json.loads(body)
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
    return ChatAnswer(content, usage_of(data))
