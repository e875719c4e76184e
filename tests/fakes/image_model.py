"""A hand-written ImageModel fake: a small PNG per prompt, scripted failures, prompts recorded."""

from __future__ import annotations

import io
import zlib
from collections import deque

from PIL import Image

from application.ports.models import ImageModelError


class FakeImageModel:
    def __init__(self) -> None:
        self.prompts: list[str] = []
        self._failures: deque[str] = deque()

    def fail_next(self, reason: str = "image model is down", times: int = 1) -> None:
        self._failures.extend([reason] * times)

    async def generate(self, prompt: str) -> bytes:
        self.prompts.append(prompt)
        if self._failures:
            raise ImageModelError(self._failures.popleft())
        return image_for(prompt)


def image_for(prompt: str) -> bytes:
    """The PNG the fake draws for `prompt`: one colour that follows from the prompt, so tests
    can tell which prompt an image that reached a member was drawn for."""
    colour = zlib.crc32(prompt.encode("utf-8")).to_bytes(4, "big")[:3]
    out = io.BytesIO()
    Image.new("RGB", (16, 16), tuple(colour)).save(out, "PNG")
    return out.getvalue()
