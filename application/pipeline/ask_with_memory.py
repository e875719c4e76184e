"""Asking the chat model with the conversation's memory: the prompt is the system prompt,
the newest remembered turns that fit the budget, and the new question. Pictures the member
sent (with this question or within the window) are shown again, the newest `max_pictures`."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass

from application.pipeline.memory_reader import MemoryReader
from application.ports.event_store import EventStore
from application.ports.media import BlobStore
from application.ports.models import (
    ChatAnswer,
    ChatMessage,
    ChatModel,
    ImagePart,
    TextPart,
    TokenCounter,
)
from domain.events import MessageReceived
from domain.memory import history_budget
from domain.usage import Usage, estimated_usage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attached:
    """What a question comes with: pictures (blob digests, in order) and files' text."""

    pictures: tuple[str, ...] = ()
    document: str = ""


NOTHING_ATTACHED = Attached()


class AskWithMemory:
    def __init__(
        self,
        store: EventStore,
        model: ChatModel,
        count_tokens: TokenCounter,
        system_prompt: str,
        conversation_max_tokens: int,
        max_answer_tokens: int,
        blobs: BlobStore,
        max_pictures: int = 4,
    ):
        self._store = store
        self._model = model
        self._count = count_tokens
        self._memory = MemoryReader(store, count_tokens)
        self._system_prompt = system_prompt
        self._max_tokens = conversation_max_tokens
        self._max_answer = max_answer_tokens
        self._blobs = blobs
        self._max_pictures = max_pictures

    async def __call__(
        self,
        received: MessageReceived,
        prompt: str,
        on_piece: Callable[[str], None] | None = None,
        attached: Attached = NOTHING_ATTACHED,
    ) -> ChatAnswer:
        """The model's answer and what it cost (our estimate when the server did not say);
        raises ChatModelError when there is none. With `on_piece` the model streams, and
        `on_piece` is given each piece as it arrives."""
        question = _joined(attached.document, prompt)
        budget = history_budget(self._max_tokens, self._system_prompt, question, self._count)
        # Only what was said before this message: later messages may already be queued.
        position = await self._store.position_of(received.stream_id, received.version)
        turns = await self._memory.window(received.conversation_id, position, budget)
        asked = [(t.prompt, t.document, t.pictures) for t in turns]
        asked.append((prompt, attached.document, attached.pictures))
        shown = _newest_pictures([pictures for _, _, pictures in asked], self._max_pictures)
        messages = [ChatMessage("system", self._system_prompt)] if self._system_prompt else []
        for index, (said, document, pictures) in enumerate(asked):
            messages.append(await self._user(_joined(document, said), pictures[: shown[index]]))
            if index < len(turns):
                messages.append(ChatMessage("assistant", turns[index].answer))
        if on_piece is None:
            answer = await self._model.complete(messages, max_tokens=self._max_answer)
        else:
            answer = await self._streamed(messages, on_piece)
        # The estimate counts words only: a server that shows pictures also reports usage.
        usage = answer.usage or estimated_usage(
            (m.text for m in messages), answer.text, self._count
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

    async def _user(self, text: str, pictures: tuple[str, ...]) -> ChatMessage:
        if not pictures:
            return ChatMessage("user", text)
        parts: list[TextPart | ImagePart] = [TextPart(text)]
        for digest in pictures:
            blob = await self._blobs.get(digest)
            if blob is None:
                log.warning("picture %s is no longer kept; asked without it", digest[:12])
                continue
            encoded = base64.b64encode(blob.data).decode("ascii")
            parts.append(ImagePart(f"data:{blob.media_type};base64,{encoded}"))
        return ChatMessage("user", tuple(parts))


def _joined(document: str, prompt: str) -> str:
    return f"{document}\n\n{prompt}" if document else prompt


def _newest_pictures(per_message: list[tuple[str, ...]], limit: int) -> list[int]:
    """How many of each message's pictures are shown: the newest messages' first, at most
    `limit` in all, so the oldest are dropped first."""
    counts = [0] * len(per_message)
    left = limit
    for index in reversed(range(len(per_message))):
        counts[index] = min(len(per_message[index]), left)
        left -= counts[index]
    return counts
