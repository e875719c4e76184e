"""Cutting a markdown answer into WeCom markdown messages (at most 2048 bytes each) between its
blocks, so that no code block, table or list item is cut in two: a member would see a broken
fence, a table without its header, half a point. A block too large for one message is cut
within, each piece still whole: a code block into pieces in their own fences, a table into
pieces that repeat its header, anything else where the text reads best (split_parts)."""

from __future__ import annotations

import re

from domain.reply_text import WECOM_TEXT_LIMIT_BYTES, split_parts

_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_ROW = re.compile(r"^\s*\|")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d{1,9}[.)])\s+")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def markdown_blocks(text: str) -> list[str]:
    """The answer's blocks in order: a fenced code block, a table, a list item with the
    lines that continue it, a heading, a paragraph; a blank line is the block ""."""
    lines = text.split("\n")
    blocks: list[str] = []
    index = 0
    while index < len(lines):
        end = _block_end(lines, index)
        blocks.append("\n".join(lines[index:end]))
        index = end
    return blocks


def _block_end(lines: list[str], start: int) -> int:
    line = lines[start]
    if not line.strip() or _HEADING.match(line):
        return start + 1
    fence = _FENCE.match(line)
    if fence:
        for end in range(start + 1, len(lines)):
            if lines[end].strip().startswith(fence.group(1)):
                return end + 1
        return len(lines)  # an unclosed fence runs to the end, as renderers show it
    end = start + 1
    if _TABLE_ROW.match(line):
        while end < len(lines) and _TABLE_ROW.match(lines[end]):
            end += 1
        return end
    # A list item or a paragraph: up to a blank line or the start of another block (a list
    # item's own indented lines continue it).
    while end < len(lines) and lines[end].strip() and not _starts_block(lines[end]):
        end += 1
    return end


def _starts_block(line: str) -> bool:
    return bool(
        _FENCE.match(line)
        or _TABLE_ROW.match(line)
        or _HEADING.match(line)
        or (_LIST_ITEM.match(line) and not line[:1].isspace())
    )


def split_markdown(text: str, max_bytes: int = WECOM_TEXT_LIMIT_BYTES) -> tuple[str, ...]:
    """Parts of at most `max_bytes` UTF-8 bytes, cut between blocks wherever possible."""
    parts: list[str] = []
    current: list[str] = []

    def flush() -> None:
        part = "\n".join(current).strip("\n")
        if part.strip():
            parts.append(part)
        current.clear()

    for block in markdown_blocks(text):
        if _size("\n".join([*current, block])) <= max_bytes:
            current.append(block)
            continue
        flush()
        if _size(block) <= max_bytes:
            current.append(block)
            continue
        parts.extend(_pieces(block, max_bytes))
    flush()
    return tuple(parts)


def _pieces(block: str, max_bytes: int) -> list[str]:
    lines = block.split("\n")
    fence = _FENCE.match(lines[0])
    if fence:
        closed = len(lines) > 1 and lines[-1].strip().startswith(fence.group(1))
        body = lines[1:-1] if closed else lines[1:]
        return _wrapped(body, lines[0], fence.group(1), max_bytes)
    if _TABLE_ROW.match(lines[0]) and len(lines) > 2:
        return _wrapped(lines[2:], "\n".join(lines[:2]), None, max_bytes)
    return list(split_parts(block, max_bytes))


def _wrapped(rows: list[str], head: str, close: str | None, max_bytes: int) -> list[str]:
    """`rows` in pieces that each start with `head` (an opening fence, a table's header) and
    end with `close` (the closing fence, if any), within `max_bytes`."""
    frame = _size(head) + 1 + (_size(close) + 1 if close else 0)
    room = max(max_bytes - frame, 16)  # a head larger than a part still gets some rows
    pieces: list[str] = []
    chunk: list[str] = []

    def done() -> None:
        if chunk:
            pieces.append("\n".join([head, *chunk, *([close] if close else [])]))
            chunk.clear()

    for row in rows:
        for piece in split_parts(row, room) or ("",):
            if chunk and _size("\n".join([*chunk, piece])) > room:
                done()
            chunk.append(piece)
    done()
    return pieces
