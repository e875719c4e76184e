"""The token's renewal schedule against WeCom's rule: the same token, with what is left of its
life in whole seconds, until it expires; a new one only after that."""

from __future__ import annotations

import asyncio
import math

from adapters.outbound.wecom.wecom_access_token import WeComAccessTokens
from application.ports.shared_state import CachedToken
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.fakes.token_cache import InMemoryAccessTokenCache


class WeComTokens:
    """Like gettoken, answering `latency` seconds after the call: the same token with its
    remaining life rounded down until it expires, then a new one. Counts what was used
    past its end."""

    def __init__(self, now: list[float], lifetime: float = 7200, latency: float = 0.0):
        self.now, self.lifetime, self.latency = now, lifetime, latency
        self.fetches = 0
        self.expired_uses = 0
        self._issued_at: float | None = None

    async def __call__(self):
        self.fetches += 1
        at_wecom = self.now[0] + self.latency / 2
        if self._issued_at is None or at_wecom >= self._issued_at + self.lifetime:
            self._issued_at = at_wecom
        remaining = self._issued_at + self.lifetime - at_wecom
        self.now[0] += self.latency
        return f"token-{self._issued_at}", math.floor(remaining)

    def use(self, token: str) -> None:
        if token != f"token-{self._issued_at}" or self.now[0] >= self._issued_at + self.lifetime:
            self.expired_uses += 1


def tokens_for(wecom: WeComTokens, cache=None, leases=None, owner="me") -> WeComAccessTokens:
    clock = lambda: wecom.now[0]  # noqa: E731
    return WeComAccessTokens(
        wecom, cache or InMemoryAccessTokenCache(), "key", leases or InMemoryLeaseStore(clock),
        owner, clock=clock, fetch_lease_seconds=30,
    )


async def test_one_fetch_per_token_lifetime_and_never_an_expired_token():
    wecom = WeComTokens([1_000_000.0], lifetime=7200, latency=0.05)
    tokens = tokens_for(wecom)
    start = wecom.now[0]
    while wecom.now[0] < start + 3 * 7200 - 10:  # a send every second, for three lifetimes
        wecom.use(await tokens.current())
        wecom.now[0] += 1
    assert wecom.fetches == 3
    assert wecom.expired_uses == 0


async def test_two_processes_share_one_fetch_per_lifetime():
    wecom = WeComTokens([1_000_000.0], lifetime=20, latency=0.05)
    cache, leases = InMemoryAccessTokenCache(), InMemoryLeaseStore(lambda: wecom.now[0])
    processes = [tokens_for(wecom, cache, leases, owner) for owner in ("first", "second")]
    start = wecom.now[0]
    while wecom.now[0] < start + 99:  # five lifetimes, both sending every 0.25 s
        for process in processes:
            wecom.use(await process.current())
        wecom.now[0] += 0.25
    assert wecom.fetches == 5
    assert wecom.expired_uses == 0


async def test_a_token_fetched_by_another_client_costs_one_more_call_to_learn_its_end():
    # Someone else fetched at 0; we first ask at 10.5 and are told 9 s (9.5, rounded down).
    wecom = WeComTokens([1_000_000.0], lifetime=20)
    await wecom()
    wecom.now[0] += 10.5
    wecom.fetches = 0
    tokens = tokens_for(wecom)
    while wecom.now[0] < 1_000_000.0 + 39:
        wecom.use(await tokens.current())
        wecom.now[0] += 0.25
    # Asked at 10.5, at 19.5 (the same token, 0 s left), at 20.5 (new), at 40.5 not yet.
    assert wecom.fetches == 3
    # Its end is known to a second only: the sends in that second (at 20 and 20.25) may carry
    # it after its end; WeCom rejects them and the gateway renews at once (contract tests).
    assert wecom.expired_uses == 2


async def test_concurrent_callers_wait_for_one_fetch():
    wecom = WeComTokens([1_000_000.0])
    tokens = tokens_for(wecom)
    assert len(set(await asyncio.gather(*(tokens.current() for _ in range(20))))) == 1
    assert wecom.fetches == 1



class CountedCache(InMemoryAccessTokenCache):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def get(self, key: str):
        self.reads += 1
        return await super().get(key)


async def test_a_good_token_is_read_from_the_shared_cache_only_until_it_is_held():
    wecom = WeComTokens([1_000_000.0], lifetime=7200)
    cache = CountedCache()
    tokens = tokens_for(wecom, cache)
    wecom.use(await tokens.current())
    reads_to_fetch = cache.reads
    for _ in range(100):
        wecom.now[0] += 1
        wecom.use(await tokens.current())
    assert (cache.reads - reads_to_fetch, wecom.fetches, wecom.expired_uses) == (0, 1, 0)


async def test_a_token_rejected_early_is_forgotten_and_the_shared_one_read_again():
    wecom = WeComTokens([1_000_000.0], lifetime=7200)
    cache = InMemoryAccessTokenCache()
    tokens = tokens_for(wecom, cache)
    held = await tokens.current()
    # Another process was refused this token and put WeCom's new one in the shared cache.
    await cache.put("key", CachedToken("token-new", wecom.now[0] + 7200))
    assert await tokens.current() == held  # held until WeCom refuses it here too
    assert await tokens.renew(rejected=held) == "token-new"
    assert wecom.fetches == 1
