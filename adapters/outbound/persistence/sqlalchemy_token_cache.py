"""The WeCom access token, kept in the shared database so that a restart or a second
process reuses a valid token instead of calling gettoken again."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.persistence.sqlalchemy_schema import access_tokens
from application.ports.shared_state import CachedToken


class SqlAlchemyAccessTokenCache:
    def __init__(self, engine: AsyncEngine):
        self._engine = engine

    async def get(self, key: str) -> CachedToken | None:
        query = select(access_tokens).where(access_tokens.c.cache_key == key)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else CachedToken(row.token, row.expires_at)

    async def put(self, key: str, token: CachedToken) -> None:
        values = {"token": token.value, "expires_at": token.expires_at}
        change = update(access_tokens).where(access_tokens.c.cache_key == key).values(**values)
        try:
            async with self._engine.begin() as conn:
                if (await conn.execute(change)).rowcount == 0:
                    await conn.execute(access_tokens.insert().values(cache_key=key, **values))
        except IntegrityError:
            # Another process stored a token for this key at the same moment; either is valid.
            pass

    async def invalidate(self, key: str, value: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(access_tokens).where(
                    access_tokens.c.cache_key == key, access_tokens.c.token == value
                )
            )
