"""Access tokens are secrets nobody knows at start-up: WeCom issues them while we run, and
another process may have fetched the one we read from the shared cache. Every token passes
through the cache, so wrapping the cache tells the log redactor about each one before any
line could carry it, without the WeCom adapter knowing about logging."""

from __future__ import annotations

from collections.abc import Callable

from application.ports.shared_state import AccessTokenCache, CachedToken


class TokenRedactingCache:
    def __init__(self, inner: AccessTokenCache, redact: Callable[[str], None]):
        self._inner = inner
        self._redact = redact

    async def get(self, key: str) -> CachedToken | None:
        token = await self._inner.get(key)
        if token is not None:
            self._redact(token.value)
        return token

    async def put(self, key: str, token: CachedToken) -> None:
        self._redact(token.value)
        await self._inner.put(key, token)

    async def invalidate(self, key: str, value: str) -> None:
        self._redact(value)
        await self._inner.invalidate(key, value)
