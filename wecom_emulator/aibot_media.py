"""Pictures and files members send an AI bot, served as WeCom serves them (WECOM.md, "Media
that members send"): at a URL of their own, signed by its query, encrypted with AES-256-CBC
(IV = the key's first 16 bytes, PKCS#7 padding to a multiple of 32 bytes) under the key the
message gives (`aeskey`, over the long connection) or the bot's EncodingAESKey (callbacks),
the file's name in Content-Disposition. A `trickle` item is served a byte at a time, never
ending, as a download that hangs."""

from __future__ import annotations

import asyncio
import base64
import itertools
import secrets
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

from Crypto.Cipher import AES
from Crypto.Util.Padding import pad
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

PATH = "/aibot/media"
_PAD_BLOCK = 32
_TRICKLE_SECONDS = 0.2
# The emulator forgets items after this many, to stay small.
MAX_ITEMS = 200


def encrypt_media(data: bytes, key: bytes) -> bytes:
    return AES.new(key, AES.MODE_CBC, iv=key[:16]).encrypt(pad(data, _PAD_BLOCK))


def bot_key(encoding_aes_key: str) -> bytes:
    """The key of a bot's callback-mode downloads: its EncodingAESKey, decoded."""
    return base64.b64decode(encoding_aes_key + "=")


@dataclass(frozen=True)
class AiBotItem:
    url_path: str  # with the query that signs it
    aeskey: str  # base64 of the key, as the long connection's messages carry it
    encrypted: bytes
    filename: str
    trickle: bool


class AiBotMediaStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, AiBotItem] = {}
        self._ids = itertools.count(1)

    def keep(
        self, data: bytes, key: bytes | None, filename: str, *, trickle: bool = False
    ) -> AiBotItem:
        """Holds `data` encrypted with `key` (a fresh random one when None)."""
        key = key or secrets.token_bytes(32)
        with self._lock:
            item_id = f"item{next(self._ids)}"
            url_path = f"{PATH}/{item_id}?authkey={secrets.token_hex(16)}"
            item = AiBotItem(
                url_path,
                base64.b64encode(key).decode("ascii"),
                encrypt_media(data, key),
                filename,
                trickle,
            )
            self._items[item_id] = item
            if len(self._items) > MAX_ITEMS:
                del self._items[next(iter(self._items))]
        return item

    async def serve(self, request: Request) -> Response:
        with self._lock:
            item = self._items.get(request.path_params["item_id"])
        authkey = request.query_params.get("authkey", "")
        if item is None or not item.url_path.endswith(f"authkey={authkey}"):
            return Response("no such item, or its URL has expired", 404)
        if item.trickle:
            return StreamingResponse(_trickle(), media_type="application/octet-stream")
        disposition = f"attachment; filename*=UTF-8''{quote(item.filename)}"
        return Response(
            item.encrypted,
            media_type="application/octet-stream",
            headers={"Content-Disposition": disposition} if item.filename else {},
        )


async def _trickle() -> AsyncIterator[bytes]:
    while True:
        yield b"\0"
        await asyncio.sleep(_TRICKLE_SECONDS)
