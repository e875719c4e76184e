"""Pictures and files members send: fetched by their channel, made ready for the model (a
picture decoded and scaled, a file's text extracted), and the pictures kept for follow-ups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class MediaError(Exception):
    """A picture or file that cannot be used. `problem` is one of domain.notices' attachment
    problems (what the member is told); `reason` says more, for the log; `limit` is the byte
    limit a too large one went over."""

    def __init__(self, problem: str, reason: str, limit: int | None = None):
        super().__init__(reason)
        self.problem = problem
        self.reason = reason
        self.limit = limit


@dataclass(frozen=True)
class Fetched:
    """A picture's or file's bytes, and the file name its server gave, if any."""

    data: bytes
    name: str = ""


@dataclass(frozen=True)
class Picture:
    """A picture as the model is shown it: decoded, checked, scaled down and re-encoded."""

    media_type: str  # image/jpeg or image/png
    data: bytes
    width: int
    height: int


class PictureReader(Protocol):
    async def prepare(self, data: bytes) -> Picture:
        """The picture in `data` (JPEG, PNG, GIF, WebP, BMP) made ready for a vision model;
        MediaError when it is not one, or too large to decode safely."""


@dataclass(frozen=True)
class ExtractedText:
    text: str
    # What the extractor's limits left unread, in words ("pages 201 to 10000"), or "".
    left_out: str = ""


class TextExtractor(Protocol):
    async def extract(self, data: bytes, name: str) -> ExtractedText:
        """The text of a PDF, DOCX, XLSX, PPTX, TXT, MD or CSV file (`name` helps tell which)
        within the extractor's limits of pages, rows, size and time; MediaError when there
        is none to be had (unsupported, encrypted, scanned, damaged, too large or slow)."""


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes


class BlobStore(Protocol):
    """Bytes kept beside the events, by the sha256 of their content (stored once)."""

    async def put(self, data: bytes, media_type: str) -> str:
        """Keeps `data`; its digest (lowercase hex sha256)."""

    async def get(self, digest: str) -> Blob | None: ...
