"""State shared by every process on the database that is not a business fact: the access
tokens, and the leases that let one process at a time work on a thing."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CachedToken:
    value: str
    # Epoch seconds by which WeCom has surely let it expire: from then on gettoken answers
    # with a new one (before, with this one again), so it is renewed then.
    expires_at: float


class AccessTokenCache(Protocol):
    """Where WeCom access tokens are kept (one per app secret), so restarts and other
    processes reuse them."""

    async def get(self, key: str) -> CachedToken | None: ...

    async def put(self, key: str, token: CachedToken) -> None: ...

    async def invalidate(self, key: str, value: str) -> None:
        """Forget the token, but only if it is still `value` (another process may have
        already replaced it with a fresh one)."""


class LeaseStore(Protocol):
    """Named, expiring locks shared by every process on the database: a conversation, or the
    access-token fetch, is worked on by one owner at a time, and an owner that dies lets go
    when its lease runs out."""

    async def acquire(self, name: str, owner: str, seconds: float) -> bool:
        """Take the lease, or extend it if `owner` holds it already; False if someone else
        holds an unexpired one."""

    async def renew(self, names: Collection[str], owner: str, seconds: float) -> int:
        """Extend, in one go, every lease among `names` that `owner` still holds; returns how
        many it held. One statement for all of a process's conversations, not one each."""

    async def release(self, name: str, owner: str) -> None: ...
