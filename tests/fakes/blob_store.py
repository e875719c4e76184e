"""A hand-written in-memory BlobStore: the bytes by their sha256, as the SQL one keeps them."""

from __future__ import annotations

import hashlib

from application.ports.media import Blob


class InMemoryBlobStore:
    def __init__(self) -> None:
        self.blobs: dict[str, Blob] = {}

    async def put(self, data: bytes, media_type: str) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.blobs.setdefault(digest, Blob(media_type, data))
        return digest

    async def get(self, digest: str) -> Blob | None:
        return self.blobs.get(digest)
