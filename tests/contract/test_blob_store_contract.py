"""One contract for every blob store (the pictures members sent): in memory, SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from adapters.outbound.persistence.sqlalchemy_blob_store import SqlAlchemyBlobStore
from adapters.outbound.persistence.sqlalchemy_engine import build_engine
from adapters.outbound.persistence.sqlalchemy_migrations import migrate
from application.ports.media import Blob
from tests.fakes.blob_store import InMemoryBlobStore
from tests.support.postgres import postgres_url

PICTURE = b"\xff\xd8\xff" + bytes(range(256)) * 400  # every byte value, 100 KB


class BlobStoreContract:
    async def test_bytes_read_back_as_kept_under_their_sha256(self, blobs):
        digest = await blobs.put(PICTURE, "image/jpeg")
        assert digest == hashlib.sha256(PICTURE).hexdigest()
        assert await blobs.get(digest) == Blob("image/jpeg", PICTURE)

    async def test_an_unknown_digest_is_none(self, blobs):
        assert await blobs.get("0" * 64) is None

    async def test_the_same_bytes_kept_twice_or_at_once_are_one_blob(self, blobs):
        digests = await asyncio.gather(*(blobs.put(PICTURE, "image/jpeg") for _ in range(6)))
        assert len(set(digests)) == 1
        assert await blobs.put(PICTURE, "image/jpeg") == digests[0]
        assert (await blobs.get(digests[0])).data == PICTURE


class TestInMemoryBlobStore(BlobStoreContract):
    @pytest.fixture
    def blobs(self):
        return InMemoryBlobStore()


class SqlBlobStoreContract(BlobStoreContract):
    @pytest.fixture
    async def blobs(self, url):
        engine = build_engine(url)
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DELETE FROM media_blobs")
        yield SqlAlchemyBlobStore(engine)
        await engine.dispose()

    async def test_one_row_however_often_it_is_kept(self, blobs, url):
        for _ in range(3):
            await blobs.put(PICTURE, "image/jpeg")
        engine = build_engine(url)
        try:
            async with engine.connect() as conn:
                rows = (await conn.exec_driver_sql("SELECT size FROM media_blobs")).all()
        finally:
            await engine.dispose()
        assert [row[0] for row in rows] == [len(PICTURE)]


class TestSqliteBlobStore(SqlBlobStoreContract):
    @pytest.fixture
    def url(self, tmp_path):
        return f"sqlite:///{tmp_path}/blobs.db"


class TestPostgresBlobStore(SqlBlobStoreContract):
    @pytest.fixture
    def url(self):
        return postgres_url()
