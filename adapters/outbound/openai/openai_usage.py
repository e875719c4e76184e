"""The `usage` object of OpenAI-compatible chat answers (whole, or the last chunk of a stream
asked for with `stream_options.include_usage`): the server's own count of a call's tokens."""

from __future__ import annotations

from typing import Any

from domain.usage import Usage


def usage_of(answer: Any) -> Usage | None:
    """The server's count, or None when it sent none (or one that is not a count)."""
    usage = answer.get("usage") if isinstance(answer, dict) else None
    if not isinstance(usage, dict):
        return None
    tokens_in, tokens_out = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not all(type(n) is int and n >= 0 for n in (tokens_in, tokens_out)):
        return None
    return Usage(tokens_in=tokens_in, tokens_out=tokens_out)
