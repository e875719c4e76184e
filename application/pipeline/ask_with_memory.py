"""Asking the chat model with the conversation's memory: the prompt is the system prompt,
the newest remembered turns that fit the budget, and the new question."""

from __future__ import annotations

from collections.abc import Callable

from application.pipeline.memory_reader import MemoryReader
from application.ports.event_store import EventStore
from application.ports.models import ChatAnswer, ChatMessage, ChatModel, TokenCounter
from domain.events import MessageReceived
from domain.memory import history_budget
from domain.usage import Usage, estimated_usage


class AskWithMemory:
    def __init__(
        self,
        store: EventStore,
        model: ChatModel,
        count_tokens: TokenCounter,
        system_prompt: str,
        conversation_max_tokens: int,
        max_answer_tokens: int,
    ):
        self._store = store
        self._model = model
        self._count = count_tokens
        self._memory = MemoryReader(store, count_tokens)
        self._system_prompt = system_prompt
        self._max_tokens = conversation_max_tokens
        self._max_answer = max_answer_tokens

    async def __call__(
        self,
        received: MessageReceived,
        prompt: str,
        on_piece: Callable[[str], None] | None = None,
    ) -> ChatAnswer:
        """The model's answer and what it cost (our estimate when the server did not say);
        raises ChatModelError when there is none. With `on_piece` the model streams, and
        `on_piece` is given each piece as it arrives."""
        budget = history_budget(self._max_tokens, self._system_prompt, prompt, self._count)
        # Only what was said before this message: later messages may already be queued.
        position = await self._store.position_of(received.stream_id, received.version)
        turns = await self._memory.window(received.conversation_id, position, budget)
        messages = [ChatMessage("system", self._system_prompt)] if self._system_prompt else []
        for turn in turns:
            messages += [ChatMessage("user", turn.prompt), ChatMessage("assistant", turn.answer)]
        messages.append(ChatMessage("user", prompt))
        if on_piece is None:
            answer = await self._model.complete(messages, max_tokens=self._max_answer)
        else:
            answer = await self._streamed(messages, on_piece)
        usage = answer.usage or estimated_usage(
            (m.content for m in messages), answer.text, self._count
        )
        return ChatAnswer(answer.text, usage)

    async def _streamed(
        self, messages: list[ChatMessage], on_piece: Callable[[str], None]
    ) -> ChatAnswer:
        # Joined once at the end: adding each piece to a string would copy the answer so far
        # for every piece, quadratic in a long answer.
        pieces: list[str] = []
        usage = None
        async for piece in self._model.stream(messages, max_tokens=self._max_answer):
            if isinstance(piece, Usage):
                usage = piece
                continue
            pieces.append(piece)
            on_piece(piece)
        return ChatAnswer("".join(pieces), usage)
