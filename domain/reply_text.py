"""Turning a model's answer into WeCom text messages.

WeCom truncates text beyond 2048 UTF-8 bytes, and the WeChat plugin shows markdown as raw
symbols, so answers are flattened to readable plain text and cut into parts that each fit.
"""

from __future__ import annotations

import re

WECOM_TEXT_LIMIT_BYTES = 2048

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+")
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)[^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|~~)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![A-Za-z0-9*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![A-Za-z0-9*])")
_CODE = re.compile(r"`([^`\n]+)`")


def _flatten_inline(line: str) -> str:
    line = _IMAGE.sub(r"\1 (\2)", line)
    line = _LINK.sub(r"\1 (\2)", line)
    line = _CODE.sub(r"\1", line)
    line = _EMPHASIS.sub(r"\2", line)
    return _ITALIC.sub(r"\1", line)


def flatten_markdown(text: str) -> str:
    """Readable plain text from common markdown; code blocks keep their content verbatim."""
    out: list[str] = []
    in_code = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            out.append(line)
            continue
        if _RULE.match(line):
            out.append("——————")
            continue
        heading = _HEADING.match(line)
        if heading:
            line = heading.group(1)
        line = _QUOTE.sub("", line)
        line = _BULLET.sub(r"\1• ", line)
        out.append(_flatten_inline(line))
    return "\n".join(out)


# Best cut first: end of a paragraph, of a line, of a sentence, then any space.
_CUT_PATTERNS = (
    re.compile(r"\n\s*\n"),
    re.compile(r"\n"),
    re.compile(r"[。！？；!?;…]+[\"'”’）)]*\s*|\.[\"'”’)]*\s+"),
    re.compile(r"\s+"),
)


def _best_cut(window: str) -> int:
    """Where to end a part inside `window`: just after the best separator that is not
    in the first half (a cut there would leave a tiny part), else the whole window."""
    half = len(window) // 2
    for pattern in _CUT_PATTERNS:
        ends = [m.end() for m in pattern.finditer(window) if m.end() > half]
        if ends:
            return ends[-1]
    return len(window)


def split_parts(text: str, max_bytes: int = WECOM_TEXT_LIMIT_BYTES) -> tuple[str, ...]:
    """Parts of at most `max_bytes` UTF-8 bytes, in order, that join back to `text`."""
    parts: list[str] = []
    rest = text
    while len(rest.encode("utf-8")) > max_bytes:
        # Decoding a byte-truncated prefix drops a half character at the end, never inside.
        window = rest.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
        cut = _best_cut(window)
        parts.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        parts.append(rest)
    return tuple(parts)
