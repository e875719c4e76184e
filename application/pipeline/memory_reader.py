"""Reading a conversation's memory newest-first, one page at a time, only as far as the
token budget reaches: the cost follows the window, not the length of the past."""

from __future__ import annotations

from dataclasses import replace

from application.ports.event_store import EventStore
from application.ports.models import TokenCounter
from domain.documents import document_prompt
from domain.events import AnswerComposed, FileRead, MemoryCleared, PictureSeen
from domain.memory import Turn, fit_window, turn_tokens
from domain.redaction import content_removed


class MemoryReader:
    def __init__(self, store: EventStore, count_tokens: TokenCounter, page_size: int = 32):
        self._store = store
        self._count = count_tokens
        self._page_size = page_size

    async def window(self, conversation_id: str, before_position: int, budget: int) -> list[Turn]:
        turns: list[Turn] = []
        # A message's pictures and files come before its answer in the log, so newest-first
        # they are read after it: each joins the turn of its message (by stream). Those of a
        # message that got no answer have no turn and are passed over.
        turn_of_stream: dict[str, int] = {}
        used = 0
        cursor: int | None = before_position
        while used <= budget:
            page = await self._store.memory(conversation_id, cursor, self._page_size)
            for event in page:
                # Nothing before a reset is remembered, nor before a turn whose content was
                # removed (retention removes the oldest first; an erasure cuts memory there).
                removed = isinstance(event, AnswerComposed) and content_removed(event)
                if isinstance(event, MemoryCleared) or removed:
                    return fit_window(turns, budget, self._count)
                if isinstance(event, AnswerComposed):
                    turn = Turn(prompt=event.prompt, answer=event.answer)
                    turn_of_stream[event.stream_id] = len(turns)
                    turns.append(turn)
                    used += turn_tokens(turn, self._count)
                elif isinstance(event, PictureSeen | FileRead):
                    index = turn_of_stream.get(event.stream_id)
                    if index is not None:
                        turns[index] = _with_seen(turns[index], event)
                        if isinstance(event, FileRead):
                            used += self._count(event.text)
            if len(page) < self._page_size:
                break
            cursor = await self._store.position_of(page[-1].stream_id, page[-1].version)
        return fit_window(turns, budget, self._count)


def _with_seen(turn: Turn, event: PictureSeen | FileRead) -> Turn:
    """The turn with one more of its message's pictures or files (read newest-first, so each
    goes before those already there)."""
    if isinstance(event, PictureSeen):
        if not event.digest:  # its content removed, with the picture
            return turn
        return replace(turn, pictures=(event.digest, *turn.pictures))
    document = document_prompt(event.name, event.text)
    return replace(turn, document="\n\n".join(filter(None, (document, turn.document))))
