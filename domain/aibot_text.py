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
# Where LiveAnswer is in the model's text: answering, inside <think>, or just after </think>
# (whose following blank space is dropped, as visible_text drops it).
_ANSWER, _THINKING, _AFTER_THINKING = "answer", "thinking", "after thinking"


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


class LiveAnswer:
    """What a stream shows while the model writes: live_content(prefix + visible_text(answer so
    far)), kept up piece by piece in linear time. Each piece is looked at once (only a possible
    half tag is carried to the next), and once the shown text reaches the live limit nothing
    more is kept, since nothing more can be shown: a long answer, or a long reasoning section
    arriving in thousands of pieces, costs no more than its length."""

    def __init__(self, prefix: str, show_thinking: bool):
        self._show_thinking = show_thinking
        self._shown = [prefix]
        self._size = _size(prefix)
        self._carried = ""  # the end of the last piece, which the next may complete as a tag
        self._state = _ANSWER
        self._content = live_content(prefix)

    def add(self, piece: str) -> str | None:
        """The content to show now, or None when the piece changed nothing that is shown."""
        if self._size > LIVE_LIMIT_BYTES:
            return None
        size = self._size
        if self._show_thinking:
            self._emit(piece)
        else:
            self._scan(self._carried + piece)
        if self._size == size:
            return None
        self._content = live_content("".join(self._shown))
        return self._content

    @property
    def content(self) -> str:
        return self._content

    def _scan(self, rest: str) -> None:
        """visible_text's walk, resumable: the same text in, the same text shown."""
        self._carried = ""
        while rest:
            if self._state == _ANSWER:
                start = rest.find(_THINK_OPEN)
                if start < 0:
                    shown = _without_partial_tag(rest)
                    self._emit(shown)
                    self._carried = rest[len(shown) :]
                    return
                self._emit(rest[:start])
                rest, self._state = rest[start + len(_THINK_OPEN) :], _THINKING
            elif self._state == _THINKING:
                end = rest.find(_THINK_CLOSE)
                if end < 0:
                    self._carried = rest[-(len(_THINK_CLOSE) - 1) :]
                    return
                rest, self._state = rest[end + len(_THINK_CLOSE) :], _AFTER_THINKING
            else:
                rest = rest.lstrip()
                if rest:
                    self._state = _ANSWER

    def _emit(self, text: str) -> None:
        if text:
            self._shown.append(text)
            self._size += _size(text)


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
