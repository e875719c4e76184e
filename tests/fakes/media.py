"""Hand-written fakes of the media ports: a picture reader, a text extractor and an AI bot's
downloads, each scripted with what it finds and recording what it was asked."""

from __future__ import annotations

from application.ports.media import ExtractedText, Fetched, MediaError, Picture
from domain import notices

# What the fake picture reader refuses, as Pillow refuses what is not a picture.
NOT_A_PICTURE = b"not a picture"


class FakePictureReader:
    """A picture "prepared" is the same bytes, as a PNG of `width` x `height`."""

    def __init__(self, width: int = 640, height: int = 480):
        self.prepared: list[bytes] = []
        self._size = (width, height)

    async def prepare(self, data: bytes) -> Picture:
        if data.startswith(NOT_A_PICTURE):
            raise MediaError(notices.UNREADABLE, "not a picture (fake)")
        self.prepared.append(data)
        return Picture("image/png", data, *self._size)


class FakeTextExtractor:
    """The text of a file is its bytes as UTF-8, unless `problems` (name: problem) says it
    cannot be read."""

    def __init__(self, problems: dict[str, str] | None = None, left_out: str = ""):
        self.extracted: list[str] = []  # file names
        self._problems = dict(problems or {})
        self._left_out = left_out

    async def extract(self, data: bytes, name: str) -> ExtractedText:
        self.extracted.append(name)
        if name in self._problems:
            raise MediaError(self._problems[name], f"{name} is unreadable (fake)")
        return ExtractedText(data.decode("utf-8"), self._left_out)


class FakeAiBotMedia:
    """`items` (url: bytes) are what the URLs serve, already decrypted; any other URL has
    expired. `downloads` records (url, aeskey) of each call."""

    def __init__(self, items: dict[str, bytes] | None = None, names: dict[str, str] | None = None):
        self.items = dict(items or {})
        self.names = dict(names or {})
        self.downloads: list[tuple[str, str]] = []

    async def download(self, url: str, aeskey: str, limit: int) -> Fetched:
        self.downloads.append((url, aeskey))
        if url not in self.items:
            raise MediaError(notices.UNAVAILABLE, "the URL has expired (fake)")
        data = self.items[url]
        if len(data) > limit:
            raise MediaError(notices.TOO_LARGE, f"{len(data)} bytes (fake)", limit)
        return Fetched(data, self.names.get(url, ""))
