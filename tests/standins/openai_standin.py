"""An OpenAI-compatible chat-completions server for tests, to be served with
`tests.support.live_server.serve(standin.app)`; the adapter's base URL is `<served>/v1`."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

Reply = str | Callable[[dict[str, Any]], str]

# Like a real server, the stand-in stops at max_tokens (same rough measure as FakeChatModel).
CHARS_PER_TOKEN = 4
# However long a hung call is told to hang, it ends by then: no test server outlives its test.
HANG_LIMIT_SECONDS = 600.0


def answer_to_last_user_message(body: dict[str, Any]) -> str:
    return f"answer to: {_last_question(body)}"


def text_of(message: dict[str, Any]) -> str:
    """A message's words: its content, or the text of its content parts."""
    content = message.get("content", "")
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
    return str(content)


def image_urls(message: dict[str, Any]) -> list[str]:
    """The image_url parts' URLs of a message ([] for plain text)."""
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [p["image_url"]["url"] for p in content if p.get("type") == "image_url"]


class OpenAIStandIn:
    """Records every request; answers with `reply` (a string, or a function of the request
    body) after `delay` seconds, unless a scripted failure or raw answer is queued first.
    With `api_key` set, any other bearer key gets a 401 that quotes the key it was given, as
    real servers partly do, so tests can prove the adapter never repeats it.
    A request with `"stream": true` is answered with server-sent events: `chunk_chars`
    characters per chunk, `stream_delay` seconds apart, a last chunk with the usage when
    `stream_options.include_usage` asks for it, then `data: [DONE]`. Each answer counts its
    tokens in `usage` (a quarter of the characters) unless `send_usage` is False.

    Like a model server with a bounded batch, it takes at most `max_concurrent` calls at once
    (None: any number) and answers the others 429 with `Retry-After: retry_after`; it counts
    the calls it had at once (`peak_concurrency`) and those it turned away (`busy_refusals`).
    `hang_next(n)` makes the next n calls hang (send nothing) until `recover()`, and
    `hang_first_call_of(questions)` the first call asking each of `questions` (its last user
    message), whatever order calls come in."""

    def __init__(
        self,
        reply: Reply = answer_to_last_user_message,
        *,
        api_key: str | None = None,
        delay: float = 0.0,
        stream_delay: float = 0.0,
        chunk_chars: int = 4,
        max_concurrent: int | None = None,
        retry_after: float = 1.0,
    ):
        self.reply = reply
        self.api_key = api_key
        self.delay = delay
        self.stream_delay = stream_delay
        self.chunk_chars = chunk_chars
        self.send_usage = True
        self.max_concurrent = max_concurrent
        self.retry_after = retry_after
        self.peak_concurrency = 0
        self.busy_refusals = 0
        self._in_flight = 0
        self._to_hang = 0
        self._hang_once: set[str] = set()
        self._recovered = threading.Event()
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._authorizations: list[str | None] = []
        self._scripted: deque[tuple[int, bytes]] = deque()
        self._ids = itertools.count(1)
        self._chunks: list[tuple[str, str, float, bool]] = []
        self.app = Starlette(
            routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])]
        )

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Request bodies in arrival order (a copy: the server thread keeps appending)."""
        with self._lock:
            return list(self._requests)

    @property
    def chunks(self) -> list[tuple[str, str, float, bool]]:
        """Each streamed piece as (the question, the answer so far, time.monotonic() when it
        was handed to the server, False), and the stream's end as (…, True): when each left,
        for benchmarks of what follows it."""
        with self._lock:
            return list(self._chunks)

    @property
    def authorizations(self) -> list[str | None]:
        """The Authorization header of each request, None where it was absent."""
        with self._lock:
            return list(self._authorizations)

    def fail_next(self, status: int, times: int = 1, message: str | None = None) -> None:
        error = {"message": message or f"stand-in failure {status}", "type": "standin_error"}
        self.send_raw_next(json.dumps({"error": error}), status=status, times=times)

    def send_raw_next(self, content: str, status: int = 200, times: int = 1) -> None:
        with self._lock:
            self._scripted.extend([(status, content.encode())] * times)

    def hang_next(self, times: int = 1) -> None:
        """The next `times` calls send nothing until `recover()` (at most HANG_LIMIT_SECONDS)."""
        with self._lock:
            self._to_hang += times
            self._recovered.clear()

    def hang_first_call_of(self, questions: set[str]) -> None:
        with self._lock:
            self._hang_once |= questions
            self._recovered.clear()

    def recover(self) -> None:
        """Hung calls go on (and answer); calls still to hang do not."""
        with self._lock:
            self._to_hang = 0
            self._hang_once.clear()
            self._recovered.set()

    async def _complete(self, request: Request) -> Response:
        authorization = request.headers.get("authorization")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "request body is not JSON")
        with self._lock:
            if self.max_concurrent is not None and self._in_flight >= self.max_concurrent:
                self.busy_refusals += 1
                busy = True
            else:
                busy = False
                self._in_flight += 1
                self.peak_concurrency = max(self.peak_concurrency, self._in_flight)
        if busy:
            return _busy(self.retry_after)
        streamed = False
        try:
            response = await self._answer(request, body, authorization)
            streamed = isinstance(response, StreamingResponse)
            return response
        finally:
            if not streamed:  # a stream is counted until its last event (see _events)
                self._done()

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1

    async def _answer(self, request: Request, body: dict, authorization: str | None) -> Response:
        with self._lock:
            self._requests.append(body)
            self._authorizations.append(authorization)
            scripted = self._scripted.popleft() if self._scripted else None
            question = _last_question(body)
            hang = self._to_hang > 0 or question in self._hang_once
            if self._to_hang > 0:
                self._to_hang -= 1
            else:
                self._hang_once.discard(question)
        if hang:
            # Polled, not waited for in a thread: a hundred hung calls would take every
            # thread of the default pool.
            until = time.monotonic() + HANG_LIMIT_SECONDS
            while not self._recovered.is_set() and time.monotonic() < until:
                await asyncio.sleep(0.05)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            presented = (authorization or "").removeprefix("Bearer ")
            return _error(401, f"Incorrect API key provided: {presented}")
        if scripted is not None:
            status, content = scripted
            return Response(content, status_code=status, media_type="application/json")
        if body.get("stream") is True:
            return StreamingResponse(self._events(body), media_type="text/event-stream")
        return JSONResponse(self._completion(body))

    async def _events(self, body: dict[str, Any]):
        try:
            async for event in self._event_stream(body):
                yield event
        finally:
            self._done()

    async def _event_stream(self, body: dict[str, Any]):
        completion = self._completion(body)
        text = completion["choices"][0]["message"]["content"]
        pieces = [{"role": "assistant", "content": ""}] + [
            {"content": text[i : i + self.chunk_chars]}
            for i in range(0, len(text), self.chunk_chars)
        ]
        question = str(body["messages"][-1].get("content", "")) if body.get("messages") else ""
        so_far = ""
        for delta in pieces:
            so_far += delta["content"]
            with self._lock:
                self._chunks.append((question, so_far, time.monotonic(), False))
            yield _event({"id": completion["id"], "choices": [{"index": 0, "delta": delta}]})
            await asyncio.sleep(self.stream_delay)
        finish = completion["choices"][0]["finish_reason"]
        yield _event({"id": completion["id"], "choices": [{"delta": {}, "finish_reason": finish}]})
        options = body.get("stream_options")
        if "usage" in completion and isinstance(options, dict) and options.get("include_usage"):
            yield _event({"id": completion["id"], "choices": [], "usage": completion["usage"]})
        with self._lock:
            self._chunks.append((question, so_far, time.monotonic(), True))
        yield "data: [DONE]\n\n"

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        text = self.reply(body) if callable(self.reply) else self.reply
        max_tokens = body.get("max_tokens")
        limit = max_tokens * CHARS_PER_TOKEN if isinstance(max_tokens, int) else len(text)
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
        prompt_tokens = prompt_chars // CHARS_PER_TOKEN
        completion_tokens = len(text[:limit]) // CHARS_PER_TOKEN
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        return {
            "id": f"chatcmpl-standin-{next(self._ids)}",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text[:limit]},
                    "finish_reason": "length" if len(text) > limit else "stop",
                }
            ],
        } | ({"usage": usage} if self.send_usage else {})


def _last_question(body: dict[str, Any]) -> str:
    said = [text_of(m) for m in body.get("messages", []) if m.get("role") == "user"]
    return said[-1] if said else ""


def _event(chunk: dict[str, Any]) -> str:
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"


def _busy(retry_after: float) -> Response:
    error = {"message": "Rate limit reached: too many requests at once", "type": "rate_limit"}
    return JSONResponse({"error": error}, 429, headers={"Retry-After": f"{retry_after:g}"})


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status)
