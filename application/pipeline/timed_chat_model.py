"""A ChatModel that reports how long each call took and how it ended, and lends the
scheduler's worker slot out while it waits (see worker_slots): the call is a wait on another
server, not work of ours."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence

from application.pipeline.worker_slots import lent
from application.ports.models import ChatAnswer, ChatMessage, ChatModel, ChatModelError
from application.ports.telemetry import Telemetry
from domain.usage import Usage


class TimedChatModel:
    def __init__(self, model: ChatModel, telemetry: Telemetry, channel: str):
        self._model = model
        self._channel = channel
        self._telemetry = telemetry

    async def complete(self, messages: Sequence[ChatMessage], max_tokens: int) -> ChatAnswer:
        started = time.perf_counter()
        outcome = "error"
        try:
            async with lent():
                answer = await self._model.complete(messages, max_tokens)
            outcome = "ok"
            return answer
        except ChatModelError:
            outcome = "failed"
            raise
        finally:
            self._telemetry.model_called(self._channel, outcome, time.perf_counter() - started)

    async def stream(
        self, messages: Sequence[ChatMessage], max_tokens: int
    ) -> AsyncIterator[str | Usage]:
        # Timed to the last piece: a streamed call costs as long as the whole answer takes.
        # The slot is lent for the whole stream: what is done with each piece is small.
        started = time.perf_counter()
        outcome = "error"
        try:
            async with lent():
                async for piece in self._model.stream(messages, max_tokens):
                    yield piece
            outcome = "ok"
        except ChatModelError:
            outcome = "failed"
            raise
        finally:
            self._telemetry.model_called(self._channel, outcome, time.perf_counter() - started)
