"""HttpxAiBotMedia: the pictures and files members send an AI bot, downloaded from the URL in
the message (valid for five minutes) and decrypted (WECOM.md, "Media that members send").

The download is AES-256-CBC with IV = the key's first 16 bytes and PKCS#7 padding to 32
bytes, like the callbacks but without their random prefix, length or receiveid. Over the long
connection each item brings its key (`aeskey`, base64); in callback mode none is sent and the
bot's EncodingAESKey (base64 of its 43 characters and "=") is the key.

A download is bounded in bytes and in total time (a server that trickles forever is cut off),
and the URL's query, which signs it, is never logged or put into an error.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from email.message import Message
from pathlib import PurePosixPath
from urllib.parse import unquote

import httpx
from Crypto.Cipher import AES

from adapters.outbound.bounded_read import read_at_most
from application.ports.media import Fetched, MediaError
from domain import notices

_KEY_BYTES = 32
_PAD_BLOCK = 32
_NAME_CHARS = 128


class HttpxAiBotMedia:
    def __init__(
        self,
        client: httpx.AsyncClient,
        bot_aes_key: str | None = None,
        *,
        total_seconds: float = 60.0,
    ):
        self._client = client
        self._bot_key = bot_aes_key or ""
        self._total_seconds = total_seconds

    def __repr__(self) -> str:
        return f"HttpxAiBotMedia(total_seconds={self._total_seconds})"

    async def download(self, url: str, aeskey: str, limit: int) -> Fetched:
        key = _key(aeskey or self._bot_key)
        target = _url(url)
        encrypted, name = await self._fetch(target, limit)
        content = decrypt_media(encrypted, key)
        if len(content) > limit:
            raise MediaError(notices.TOO_LARGE, f"{len(content):,} bytes, over {limit:,}", limit)
        return Fetched(content, name)

    async def _fetch(self, target: httpx.URL, limit: int) -> tuple[bytes, str]:
        where = _where(target)
        failure: MediaError
        try:
            async with asyncio.timeout(self._total_seconds):
                async with self._client.stream("GET", target, follow_redirects=True) as response:
                    if response.status_code != 200:
                        raise MediaError(
                            notices.UNAVAILABLE, f"{where} answered HTTP {response.status_code}"
                        )
                    # The ciphertext is the content padded to the next multiple of 32 bytes.
                    body = await read_at_most(response, limit + _PAD_BLOCK)
                    name = file_name(response.headers.get("content-disposition", ""))
        except TimeoutError:
            failure = MediaError(
                notices.UNAVAILABLE,
                f"download from {where} took longer than {self._total_seconds:g}s",
            )
        except httpx.HTTPError as err:
            failure = MediaError(
                notices.UNAVAILABLE, f"download from {where} failed ({type(err).__name__})"
            )
        else:
            if body is None:
                reason = f"{where} served more than {limit:,} bytes and their padding"
                raise MediaError(notices.TOO_LARGE, reason, limit)
            return body, name
        # Raised outside the except blocks: httpx's errors, which quote the URL, are not chained.
        raise failure


def decrypt_media(encrypted: bytes, key: bytes) -> bytes:
    """The content of a downloaded item; MediaError when `key` does not decrypt it."""
    if not encrypted or len(encrypted) % AES.block_size:
        raise MediaError(notices.UNREADABLE, "the download is not whole AES blocks")
    padded = AES.new(key, AES.MODE_CBC, iv=key[:16]).decrypt(encrypted)
    pad = padded[-1]
    # A wrong key turns the padding into noise: this check is what catches it.
    if not 1 <= pad <= _PAD_BLOCK or padded[-pad:] != bytes([pad]) * pad:
        raise MediaError(notices.UNREADABLE, "the download does not decrypt with its key")
    return padded[:-pad]


def file_name(disposition: str) -> str:
    """The file's name from Content-Disposition (filename*=UTF-8''..., or filename="...",
    percent-encoded or not): where WeCom names a file a member sent."""
    if not disposition:
        return ""
    header = Message()
    header["content-disposition"] = disposition
    name = unquote(header.get_filename() or "")
    return PurePosixPath(name.replace("\\", "/")).name[:_NAME_CHARS]


def _key(aeskey: str) -> bytes:
    try:
        key = base64.b64decode(aeskey + "=" * (-len(aeskey) % 4), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != _KEY_BYTES:
        raise MediaError(notices.UNREADABLE, "the item's aeskey is not a 32-byte key in base64")
    return key


def _url(url: str) -> httpx.URL:
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL:
        target = None
    if target is None or target.scheme not in ("http", "https") or not target.host:
        raise MediaError(notices.UNAVAILABLE, "the item's url is not an http(s) URL")
    return target


def _where(url: httpx.URL) -> str:
    # Never the query: it is the download's signature.
    return f"{url.scheme}://{url.netloc.decode('ascii')}{url.path}"
