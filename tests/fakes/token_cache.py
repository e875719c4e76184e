"""An AccessTokenCache in a dict: what one process would see of a shared cache."""

from __future__ import annotations

from application.ports.shared_state import CachedToken


class InMemoryAccessTokenCache:
    def __init__(self) -> None:
        self.tokens: dict[str, CachedToken] = {}

    async def get(self, key: str) -> CachedToken | None:
        return self.tokens.get(key)

    async def put(self, key: str, token: CachedToken) -> None:
        self.tokens[key] = token

    async def invalidate(self, key: str, value: str) -> None:
        current = self.tokens.get(key)
        if current is not None and current.value == value:
            del self.tokens[key]
