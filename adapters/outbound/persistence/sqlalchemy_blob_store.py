"""Pictures members sent, kept beside the events in the same database (media_blobs), by the
sha256 of their bytes: a picture shown again and again is stored once."""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.persistence.sqlalchemy_schema import media_blobs
from application.ports.media import Blob


class SqlAlchemyBlobStore:
    def __init__(self, engine: AsyncEngine):
        self._engine = engine

    async def put(self, data: bytes, media_type: str) -> str:
        digest = hashlib.sha256(data).hexdigest()
        if await self._has(digest):
            return digest
        row = {
            "digest": digest,
            "media_type": media_type,
            "size": len(data),
            "data": data,
            "stored_at": time.time(),
        }
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(media_blobs).values(**row))
        except IntegrityError:
            pass  # another process kept the same bytes at the same moment
        return digest

    async def get(self, digest: str) -> Blob | None:
        query = select(media_blobs.c.media_type, media_blobs.c.data).where(
            media_blobs.c.digest == digest
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else Blob(row.media_type, bytes(row.data))

    async def _has(self, digest: str) -> bool:
        query = select(media_blobs.c.digest).where(media_blobs.c.digest == digest)
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).first() is not None
