"""The WeCom access token, shared by every process through the AccessTokenCache.

WeCom blocks a corp that calls gettoken too often, so a token is fetched only when the shared
cache holds none that is still good, by one caller at a time across all processes (a lease
in the shared database; in this process also an asyncio.Lock), never on a timer.

WeCom hands out the same token, with what is left of its life, until it has expired, so a
renewal before that moment gets nothing new and costs a call. The token is therefore kept
until the moment WeCom surely has a new one (one fetch per token lifetime, however many
processes share it), and when WeCom rejects it early (or in the last instant of doubt
about its end), it is renewed at once. A refusal that only an operator can fix (wrong
secret, untrusted IP) is remembered for a while instead of being asked again for every
message.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable

from application.ports.shared_state import AccessTokenCache, CachedToken, LeaseStore
from application.ports.wecom import DeliveryError, TokenStatus

FetchToken = Callable[[], Awaitable[tuple[str, float]]]
"""Asks WeCom for a token; returns (access_token, expires_in seconds)."""

WAIT_POLL_SECONDS = 0.1
REFUSAL_MEMORY_SECONDS = 60.0
# expires_in is whole seconds, rounded down: what is left may be up to this much longer.
ROUNDING_SECONDS = 1.0


def token_cache_key(corp_id: str, corp_secret: str) -> str:
    """WeCom issues one token per (corp, secret). The cache is a shared table that other tools
    may read, so the secret is named there only by its SHA-256 digest."""
    digest = hashlib.sha256(corp_secret.encode("utf-8")).hexdigest()
    return f"wecom-access-token:{corp_id}:{digest}"


class WeComAccessTokens:
    def __init__(
        self,
        fetch: FetchToken,
        cache: AccessTokenCache,
        key: str,
        leases: LeaseStore,
        owner: str,
        *,
        clock: Callable[[], float],
        fetch_lease_seconds: float,
    ):
        self._fetch = fetch
        self._cache = cache
        self._key = key
        self._leases = leases
        self._owner = owner
        self._clock = clock
        # How long others wait for a fetcher that died before one of them fetches instead.
        self._fetch_lease = fetch_lease_seconds
        self._lock = asyncio.Lock()
        self._refusal: tuple[DeliveryError, float] | None = None
        self._last_error: str | None = None
        # The token this process last held, to tell a new token in WeCom's answer.
        self._last_value: str | None = None
        # The shared cache's token as last read here, used until its end without reading the
        # database for every call WeCom gets (two per answer). One that WeCom rejects early
        # goes through renew(), which forgets it and reads the shared cache again.
        self._held: CachedToken | None = None

    async def current(self) -> str:
        """The token in use; WeCom is asked only once the cached one has surely expired."""
        token = await self._fresh_from_cache()
        if token is not None:
            return token
        async with self._lock:
            # The task that held the lock before this one has probably just fetched a token.
            token = await self._fresh_from_cache()
            if token is not None:
                return token
            return await self._fetch_once_for_all()

    async def status(self) -> TokenStatus:
        cached = await self._cache.get(self._key)
        return TokenStatus(cached.expires_at if cached else None, self._last_error)

    async def renew(self, rejected: str) -> str:
        """WeCom refused `rejected` before its time (or in the instant between its end and our
        idea of it). The cache forgets it only if it still holds it, so when many senders hit
        the same rejection, one new token serves them all."""
        self._last_value = rejected
        self._held = None
        await self._cache.invalidate(self._key, rejected)
        return await self.current()

    async def _fetch_once_for_all(self) -> str:
        self._raise_remembered_refusal()
        lease = f"fetch:{self._key}"
        while not await self._leases.acquire(lease, self._owner, self._fetch_lease):
            # Another process is fetching: its token will appear in the shared cache.
            await asyncio.sleep(WAIT_POLL_SECONDS)
            token = await self._fresh_from_cache()
            if token is not None:
                return token
        try:
            token = await self._fresh_from_cache()
            if token is not None:
                return token
            return await self._fetch_and_store()
        finally:
            await self._leases.release(lease, self._owner)

    async def _fetch_and_store(self) -> str:
        due = await self._cache.get(self._key)
        previous = due.value if due is not None else self._last_value
        try:
            value, expires_in = await self._fetch()
        except DeliveryError as err:
            self._last_error = err.reason
            if err.permanent:
                self._refusal = (err, self._clock() + REFUSAL_MEMORY_SECONDS)
            raise
        answered_at = self._clock()
        self._last_error = None
        self._last_value = value
        # Kept until WeCom holds a new token. A token new to us is taken as made during this
        # call (WeCom gives each new token its full life), so its life ends by the answer
        # plus expires_in. For the token we had already, expires_in is what is left, rounded
        # down to whole seconds; so is it for a token another client fetched before us, which
        # is then asked for once more, up to a second early, and learnt as the same token.
        again = value == previous
        ends_by = answered_at + expires_in + (ROUNDING_SECONDS if again else 0.0)
        self._held = CachedToken(value, ends_by)
        await self._cache.put(self._key, self._held)
        return value

    def _raise_remembered_refusal(self) -> None:
        if self._refusal is None:
            return
        error, until = self._refusal
        if self._clock() < until:
            raise DeliveryError(error.reason, errcode=error.errcode, permanent=True)
        self._refusal = None

    async def _fresh_from_cache(self) -> str | None:
        held = self._held
        if held is not None and self._clock() < held.expires_at:
            return held.value
        cached = await self._cache.get(self._key)
        if cached is None or self._clock() >= cached.expires_at:
            return None
        self._held = cached
        return cached.value
