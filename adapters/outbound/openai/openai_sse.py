"""OpenAI-compatible streamed answers: server-sent events (`data: {json}` … `data: [DONE]`)
turned into the chunks they carry, and the pieces of text in them. Only the parts of the SSE
format that chat servers use are read: `data` fields (several lines of one event are
joined), blank lines ending an event, and comments (`: keep-alive`) ignored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from application.ports.models import ChatModelError

DONE = "[DONE]"


async def event_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The data of each event, from the body's lines (without their line endings)."""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value.removeprefix(" "))
    if data:
        yield "\n".join(data)


def chunk_of(data: str) -> dict:
    """One chunk's JSON object. A chunk that is not JSON, or that reports an error, ends the
    answer."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise ChatModelError("model server sent a stream chunk that is not JSON") from None
    if not isinstance(chunk, dict):
        raise ChatModelError("model server sent a stream chunk that is not an object")
    if chunk.get("error"):
        error = chunk["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise ChatModelError(f"model server stopped with an error ({str(message)[:200]})")
    return chunk


def piece_of(chunk: dict) -> str:
    """The text one chunk adds ("" for chunks without text: the role, the finish reason,
    usage)."""
    choices = chunk.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return ""
    delta = choices[0].get("delta")
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""
