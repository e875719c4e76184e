"""A hand-written ChatModel fake: scripted answers, scripted failures, every call recorded."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence

from application.ports.models import ChatAnswer, ChatMessage, ChatModelError
from domain.usage import Usage

# Like a real server, the fake never answers past max_tokens; four characters per token is
# generous for any tokenizer, so a test that scripts a long reply keeps it unless it is absurd.
CHARS_PER_TOKEN = 4


class FakeChatModel:
    """`stream` yields the answer in pieces of `piece_chars`, awaiting `between_pieces()` after
    each one (a test can make it wait, to look at a stream half written). With `usage` the
    fake counts every call as a server would (then a stream ends with it); without, it
    counts nothing, as offline models and some servers do."""

    def __init__(
        self,
        replies: Iterable[str] = (),
        *,
        piece_chars: int = 3,
        between_pieces: Callable[[], Awaitable[None]] | None = None,
        usage: Usage | None = None,
    ):
        self.calls: list[tuple[list[ChatMessage], int]] = []
        self.streamed_calls = 0
        self._replies = deque(replies)
        self._failures: deque[str] = deque()
        self._piece_chars = piece_chars
        self._between_pieces = between_pieces
        self.usage = usage

    def reply_next(self, *replies: str) -> None:
        self._replies.extend(replies)

    def fail_next(self, reason: str = "model is down", times: int = 1) -> None:
        self._failures.extend([reason] * times)

    async def complete(self, messages: Sequence[ChatMessage], max_tokens: int) -> ChatAnswer:
        return ChatAnswer(await self._answer(messages, max_tokens), self.usage)

    async def _answer(self, messages: Sequence[ChatMessage], max_tokens: int) -> str:
        self.calls.append((list(messages), max_tokens))
        if self._failures:
            raise ChatModelError(self._failures.popleft())
        if self._replies:
            answer = self._replies.popleft()
        else:
            said = [m.text for m in messages if m.role == "user"]
            answer = f"answer to: {said[-1] if said else ''}"
        return answer[: max_tokens * CHARS_PER_TOKEN]

    async def stream(
        self, messages: Sequence[ChatMessage], max_tokens: int
    ) -> AsyncIterator[str | Usage]:
        self.streamed_calls += 1
        answer = await self._answer(messages, max_tokens)
        for start in range(0, len(answer), self._piece_chars):
            yield answer[start : start + self._piece_chars]
            if self._between_pieces is not None:
                await self._between_pieces()
        if self.usage is not None:
            yield self.usage
