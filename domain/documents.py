"""A file's text in a prompt: cut to a share of the conversation's token budget, with a note
saying how much was left out, so that the model (and the member, through it) knows."""

from __future__ import annotations

from collections.abc import Callable

# A file takes at most this share of conversation_max_tokens in the prompt that reads it, so
# that the question, the answer and a follow-up still fit beside it.
DOCUMENT_SHARE = 0.5


def document_budget(conversation_max_tokens: int) -> int:
    return int(conversation_max_tokens * DOCUMENT_SHARE)


def cut_to_tokens(text: str, max_tokens: int, count_tokens: Callable[[str], int]) -> str:
    """The longest beginning of `text` that counts at most `max_tokens` (a binary search:
    counting is linear, so this costs O(n log n) however the text is made)."""
    if count_tokens(text) <= max_tokens:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(text[:middle]) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def fitted_text(
    text: str, unread: str, max_tokens: int, count_tokens: Callable[[str], int]
) -> str:
    """`text` within `max_tokens`, ending in a note when anything was left out: what the
    cut dropped (in characters) and what the extractor did not read (`unread`)."""
    note_room = 60  # tokens kept for the note itself
    kept = cut_to_tokens(text, max(0, max_tokens - note_room), count_tokens)
    dropped = len(text) - len(kept)
    if not dropped and not unread:
        return text
    left_out = [f"约 {dropped:,} 字 / about {dropped:,} characters"] if dropped else []
    if unread:
        left_out.append(unread)
    return f"{kept}\n[……以下略去 / left out: {'; '.join(left_out)}]"


def document_prompt(name: str, text: str) -> str:
    """How a file appears in the model's prompt, before the member's question."""
    return f"文件 / File「{name}」:\n{text}"
