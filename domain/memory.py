"""Which remembered turns fit in the prompt: the newest ones, within a token budget."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from domain.documents import cut_to_tokens
from domain.tokens import MESSAGE_OVERHEAD_TOKENS

# A file squeezed into the last turn that fits is kept only if this much of it is left.
MIN_DOCUMENT_TOKENS = 100


@dataclass(frozen=True)
class Turn:
    prompt: str
    answer: str
    # The pictures shown with the prompt (blob digests, in order), and the files' text.
    pictures: tuple[str, ...] = ()
    document: str = ""


def turn_tokens(turn: Turn, count_tokens: Callable[[str], int]) -> int:
    return (
        count_tokens(turn.prompt)
        + count_tokens(turn.answer)
        + count_tokens(turn.document)
        + 2 * MESSAGE_OVERHEAD_TOKENS
    )


def history_budget(
    max_tokens: int, system_prompt: str, prompt: str, count_tokens: Callable[[str], int]
) -> int:
    """What is left for history once the system prompt and the new question are counted."""
    fixed = (
        count_tokens(system_prompt)
        + count_tokens(prompt)
        + 2 * MESSAGE_OVERHEAD_TOKENS
    )
    return max(0, max_tokens - fixed)


def fit_window(
    newest_first: Iterable[Turn], budget: int, count_tokens: Callable[[str], int]
) -> list[Turn]:
    """The newest turns whose total fits `budget`, oldest first. Stops at the first misfit,
    so the model never sees a conversation with a hole in it; a misfit that read a file is
    kept with less of the file when enough of it still fits (follow-ups are about it)."""
    window: list[Turn] = []
    used = 0
    for turn in newest_first:
        cost = turn_tokens(turn, count_tokens)
        if used + cost > budget:
            squeezed = _squeezed(turn, budget - used, count_tokens)
            if squeezed is not None:
                window.append(squeezed)
            break
        used += cost
        window.append(turn)
    window.reverse()
    return window


def _squeezed(turn: Turn, room: int, count_tokens: Callable[[str], int]) -> Turn | None:
    if not turn.document:
        return None
    left = room - turn_tokens(replace(turn, document=""), count_tokens)
    if left < MIN_DOCUMENT_TOKENS:
        return None
    note = "\n[……]"
    cut = cut_to_tokens(turn.document, left - count_tokens(note), count_tokens)
    return replace(turn, document=cut + note)
