"""A hand-written ChatModel fake: scripted answers, scripted failures, every call recorded."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

from application.ports import ChatMessage, ChatModelError

# Like a real server, the fake never answers past max_tokens; four characters per token is
# generous for any tokenizer, so a test that scripts a long reply keeps it unless it is absurd.
CHARS_PER_TOKEN = 4


class FakeChatModel:
    def __init__(self, replies: Iterable[str] = ()):
        self.calls: list[tuple[list[ChatMessage], int]] = []
        self._replies = deque(replies)
        self._failures: deque[str] = deque()

    def reply_next(self, *replies: str) -> None:
        self._replies.extend(replies)

    def fail_next(self, reason: str = "model is down", times: int = 1) -> None:
        self._failures.extend([reason] * times)

    async def complete(self, messages: Sequence[ChatMessage], max_tokens: int) -> str:
        self.calls.append((list(messages), max_tokens))
        if self._failures:
            raise ChatModelError(self._failures.popleft())
        if self._replies:
            answer = self._replies.popleft()
        else:
            said = [m.content for m in messages if m.role == "user"]
            answer = f"answer to: {said[-1] if said else ''}"
        return answer[: max_tokens * CHARS_PER_TOKEN]
