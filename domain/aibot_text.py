"""What an AI bot stream shows while the model writes, and how an answer fits WeCom's limits.

WeCom replaces a stream's content with each refresh, so every text shown must extend the one
before it: a member must never see words vanish. Each function here keeps that promise for
a growing answer: its result for a prefix of the answer is a prefix of its result for the
whole answer (tests/unit/domain/test_aibot_text.py checks it for arbitrary text).
"""

from __future__ import annotations

# WeCom's limit for a stream's content, and for one markdown message through response_url.
STREAM_LIMIT_BYTES = 20480
# Kept free below the limit while streaming, so a closing note can always be added.
_RESERVED_BYTES = 512
LIVE_LIMIT_BYTES = STREAM_LIMIT_BYTES - _RESERVED_BYTES

CONTINUED = "\n\n（未完，余下内容见下一条消息 / continued in the next message）"
TAKING_LONGER = (
    "\n\n（回答需要更长时间，写完后会另发一条消息 / "
    "this is taking longer: the whole answer will follow in a new message）"
)
CUT = "\n\n（回答过长，其余部分已省略 / the rest of this answer was too long to send）"

_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


def visible_text(raw: str, show_thinking: bool) -> str:
    """The model's text as members see it. Reasoning models write `<think>…</think>` first;
    unless `show_thinking`, those sections are dropped with the blank space after them, and a
    section still being written (or a tag half written) is held back until it is complete."""
    if show_thinking:
        return raw
    shown: list[str] = []
    rest = raw
    while True:
        start = rest.find(_THINK_OPEN)
        if start < 0:
            shown.append(_without_partial_tag(rest))
            return "".join(shown)
        shown.append(rest[:start])
        end = rest.find(_THINK_CLOSE, start + len(_THINK_OPEN))
        if end < 0:
            return "".join(shown)
        rest = rest[end + len(_THINK_CLOSE) :].lstrip()


def live_content(text: str) -> str:
    """What a refresh shows of an answer still being written: capped below the limit, so
    that the final content (or a closing note) only ever adds to it."""
    return utf8_prefix(text, LIVE_LIMIT_BYTES)


def stream_parts(text: str) -> tuple[str, ...]:
    """The answer as the stream's final content and, when it does not fit, one continuation
    for response_url (the only other message the AI bot may send); beyond that it is cut."""
    if _size(text) <= STREAM_LIMIT_BYTES:
        return (text,)
    head = live_content(text)
    return (head + CONTINUED, fit(text[len(head) :]))


def taking_longer(shown: str) -> str:
    """The final content of a stream closed before the answer was ready."""
    return live_content(shown) + TAKING_LONGER


def fit(text: str) -> str:
    """One message's worth: `text`, or as much of it as fits with a note that the rest is cut."""
    if _size(text) <= STREAM_LIMIT_BYTES:
        return text
    return utf8_prefix(text, STREAM_LIMIT_BYTES - _size(CUT)) + CUT


def utf8_prefix(text: str, max_bytes: int) -> str:
    """The longest prefix of `text` of at most `max_bytes` UTF-8 bytes (never half a character)."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def _without_partial_tag(text: str) -> str:
    # "…<thi" may become "<think>": showing it now would mean taking it back later.
    for length in range(min(len(_THINK_OPEN) - 1, len(text)), 0, -1):
        if text.endswith(_THINK_OPEN[:length]):
            return text[:-length]
    return text


def _size(text: str) -> int:
    return len(text.encode("utf-8"))
