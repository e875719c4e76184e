"""Reading a conversation's memory newest-first, one page at a time, only as far as the
token budget reaches: the cost follows the window, not the length of the past."""

from __future__ import annotations

from application.ports.event_store import EventStore
from application.ports.models import TokenCounter
from domain.events import AnswerComposed, MemoryCleared
from domain.memory import Turn, fit_window, turn_tokens
from domain.redaction import content_removed


class MemoryReader:
    def __init__(self, store: EventStore, count_tokens: TokenCounter, page_size: int = 32):
        self._store = store
        self._count = count_tokens
        self._page_size = page_size

    async def window(self, conversation_id: str, before_position: int, budget: int) -> list[Turn]:
        turns: list[Turn] = []
        used = 0
        cursor: int | None = before_position
        while used <= budget:
            page = await self._store.memory(conversation_id, cursor, self._page_size)
            for event in page:
                # Nothing before a reset is remembered, nor before a turn whose content was
                # removed (retention removes the oldest first; an erasure cuts memory there).
                if isinstance(event, MemoryCleared) or content_removed(event):
                    return fit_window(turns, budget, self._count)
                if isinstance(event, AnswerComposed):
                    turn = Turn(prompt=event.prompt, answer=event.answer)
                    turns.append(turn)
                    used += turn_tokens(turn, self._count)
            if len(page) < self._page_size:
                break
            cursor = await self._store.position_of(page[-1].stream_id, page[-1].version)
        return fit_window(turns, budget, self._count)
