"""Which remembered turns fit in the prompt: the newest ones, within a token budget."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from domain.tokens import MESSAGE_OVERHEAD_TOKENS


@dataclass(frozen=True)
class Turn:
    prompt: str
    answer: str


def turn_tokens(turn: Turn, count_tokens: Callable[[str], int]) -> int:
    return (
        count_tokens(turn.prompt)
        + count_tokens(turn.answer)
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
    so the model never sees a conversation with a hole in it."""
    window: list[Turn] = []
    used = 0
    for turn in newest_first:
        used += turn_tokens(turn, count_tokens)
        if used > budget:
            break
        window.append(turn)
    window.reverse()
    return window
