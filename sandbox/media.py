"""Media the emulated WeCom holds: pictures the service uploads, voice clips members send.
Like WeCom, an upload is kept under a fresh media_id and served back byte for byte."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"#!AMR\n": "audio/amr"}
# WeCom's limits, read strictly, so whatever passes here passes there too.
IMAGE_MAX_BYTES = 10 * 1000 * 1000
VOICE_MAX_BYTES = 2 * 1000 * 1000
MIN_BYTES = 6  # "every file must be larger than 5 bytes"
# Enough for any sandbox session; the oldest media go first.
MAX_ITEMS = 500


def sniff(data: bytes) -> str:
    """The content type the bytes announce, or "" when they are none WeCom names."""
    return next((kind for magic, kind in _MAGIC.items() if data.startswith(magic)), "")


@dataclass(frozen=True)
class Media:
    data: bytes
    content_type: str
    filename: str


class MediaStore:
    def __init__(self, prefix: str = "sandbox-media") -> None:
        self._items: dict[str, Media] = {}
        self._ids = itertools.count(1)
        self._prefix = prefix

    def keep(self, data: bytes, filename: str, content_type: str = "") -> str:
        media_id = f"{self._prefix}-{next(self._ids)}"
        self.put(media_id, Media(data, content_type or sniff(data), filename))
        return media_id

    def put(self, media_id: str, media: Media) -> None:
        self._items[media_id] = media
        if len(self._items) > MAX_ITEMS:
            del self._items[next(iter(self._items))]

    def get(self, media_id: str) -> Media | None:
        return self._items.get(media_id)
