"""Media WeCom holds for a corp: pictures an app uploads, voice clips members send. Like
WeCom, an upload is kept under a fresh media_id and served back byte for byte, to the corp
it belongs to only; media/upload takes what WeCom takes (WECOM.md, "Outbound API")."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from pathlib import PurePosixPath

from wecom_emulator.errors import Refused

_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"#!AMR\n": "audio/amr"}
_IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png"}
# WeCom's limits, read strictly ("10 MB" as 10,000,000 bytes), so whatever passes here passes
# there too.
IMAGE_MAX_BYTES = 10 * 1000 * 1000
VOICE_MAX_BYTES = 2 * 1000 * 1000
LARGEST_MEDIA_BYTES = 20 * 1000 * 1000  # a file
MIN_BYTES = 6  # "every file must be larger than 5 bytes"
# WeCom forgets media after three days; the emulator, to stay small, after this many.
MAX_ITEMS = 500


def sniff(data: bytes) -> str:
    """The content type the bytes announce, or "" when they are none WeCom names."""
    return next((kind for magic, kind in _MAGIC.items() if data.startswith(magic)), "")


def check_image(data: bytes, filename: str) -> str:
    """The content type of an image media/upload takes; WeCom's refusal of anything else."""
    if len(data) < MIN_BYTES:
        raise Refused(40006)
    if len(data) > IMAGE_MAX_BYTES:
        raise Refused(40009)
    content_type = sniff(data)
    if not content_type.startswith("image/"):
        raise Refused(40005)
    if PurePosixPath(filename).suffix.lower() not in _IMAGE_EXTENSIONS:
        raise Refused(40005)
    return content_type


@dataclass(frozen=True)
class Media:
    media_id: str
    corp_id: str
    data: bytes
    content_type: str
    filename: str
    uploaded: bool  # by an app through media/upload, not sent by a member


class MediaStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, Media] = {}
        self._ids = itertools.count(1)

    def keep(
        self,
        data: bytes,
        corp_id: str,
        filename: str = "",
        *,
        media_id: str = "",
        uploaded: bool = False,
    ) -> Media:
        """Holds `data` for `corp_id` under `media_id`, or under a fresh one."""
        with self._lock:
            media_id = media_id or f"emulator-media-{next(self._ids)}"
            media = Media(media_id, corp_id, data, sniff(data), filename or media_id, uploaded)
            self._items[media_id] = media
            if len(self._items) > MAX_ITEMS:
                del self._items[next(iter(self._items))]
        return media

    def get(self, media_id: str, corp_id: str | None = None) -> Media | None:
        """The media, if it is held (for `corp_id`, when given)."""
        with self._lock:
            media = self._items.get(media_id)
        if media is None or corp_id not in (None, media.corp_id):
            return None
        return media

    @property
    def uploads(self) -> list[Media]:
        """What apps uploaded, oldest first."""
        with self._lock:
            return [media for media in self._items.values() if media.uploaded]
