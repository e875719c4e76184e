"""An offline ChatModel for trying the service without any model server: it echoes the last
user message and says how much history arrived, so a person can watch memory work. The echo is
as long as the answer may be (`max_tokens`, a character per token as for Chinese), so a long
message shows a long answer arriving in parts. Pictures it describes by their size and main
colours, so the sandbox shows them reaching the model."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import AsyncIterator, Sequence

from PIL import Image

from application.ports.models import ChatAnswer, ChatMessage, ImagePart

# Streamed a few characters at a time, a moment apart (as a real model writes), so a person
# trying the AI bot sees a stream grow; a long echo no more slowly than in a second or two.
_PIECE_CHARS = 4
_PIECE_SECONDS, _STREAM_SECONDS = 0.08, 1.5
_MAIN_COLOURS = 3


class EchoChatModel:
    def __init__(self, piece_seconds: float = _PIECE_SECONDS):
        self._piece_seconds = piece_seconds

    async def complete(self, messages: Sequence[ChatMessage], max_tokens: int) -> ChatAnswer:
        # An offline model has no server to count tokens: the service estimates them.
        return ChatAnswer(self._echo(messages, max_tokens))

    async def stream(
        self, messages: Sequence[ChatMessage], max_tokens: int
    ) -> AsyncIterator[str]:
        answer = self._echo(messages, max_tokens)
        starts = range(0, len(answer), _PIECE_CHARS)
        pause = min(self._piece_seconds, _STREAM_SECONDS / max(1, len(starts)))
        for start in starts:
            if start:
                await asyncio.sleep(pause)
            yield answer[start : start + _PIECE_CHARS]

    @staticmethod
    def _echo(messages: Sequence[ChatMessage], max_tokens: int) -> str:
        said = [m for m in messages if m.role == "user"]
        last = said[-1].text if said else ""
        earlier = max(len(said) - 1, 0)
        limit = max(1, max_tokens)
        echo = last if len(last) <= limit else last[:limit] + "…"
        pictures = [describe_picture(image) for image in (said[-1].images if said else ())]
        if _is_english(last):
            seen = "".join(f"\nI see a picture: {p}." for p in pictures)
            return (
                f"(offline model) You said: {echo}{seen}\n"
                f"I remember {earlier} earlier message(s)."
            )
        seen = "".join(f"\n我看到一张图片：{p}。" for p in pictures)
        return f"（离线模型）你说：{echo}{seen}\n我记得之前的 {earlier} 条消息。"


def describe_picture(image: ImagePart) -> str:
    """"640x480, main colours #1e78c8 #ffffff #000000" (the pictures are those the service
    prepared itself, so they decode; a small copy is enough to count colours)."""
    data = base64.b64decode(image.url.partition(",")[2])
    with Image.open(io.BytesIO(data)) as picture:
        size = f"{picture.width}x{picture.height}"
        small = picture.convert("RGB")
        small.thumbnail((64, 64))
    counted = small.quantize(_MAIN_COLOURS).convert("RGB").getcolors(_MAIN_COLOURS) or []
    colours = [f"#{r:02x}{g:02x}{b:02x}" for _, (r, g, b) in sorted(counted, reverse=True)]
    return f"{size}, main colours {' '.join(colours)}"


def _is_english(text: str) -> bool:
    """Latin letters and no CJK: anything else (including an empty message) gets Chinese."""
    has_cjk = any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)
    return not has_cjk and any(ch.isascii() and ch.isalpha() for ch in text)
