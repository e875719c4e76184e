"""The token's renewal schedule against WeCom's rule: the same token until it expires."""

from __future__ import annotations

from adapters.outbound.wecom.wecom_access_token import WeComAccessTokens
from tests.fakes.lease_store import InMemoryLeaseStore
from tests.fakes.token_cache import InMemoryAccessTokenCache


class WeComTokens:
    """Like gettoken: the same token with its remaining life until it expires, then a new one."""

    def __init__(self, clock, lifetime: float = 7200):
        self.clock, self.lifetime = clock, lifetime
        self.fetches = 0
        self._issued_at = None

    async def __call__(self):
        self.fetches += 1
        now = self.clock()
        if self._issued_at is None or now >= self._issued_at + self.lifetime:
            self._issued_at = now
        remaining = self._issued_at + self.lifetime - now
        return f"token-{self._issued_at:.0f}", remaining


async def test_one_early_renewal_then_the_same_token_is_kept_to_its_end():
    now = [1_000_000.0]
    clock = lambda: now[0]  # noqa: E731
    wecom = WeComTokens(clock)
    tokens = WeComAccessTokens(
        wecom, InMemoryAccessTokenCache(), "key", InMemoryLeaseStore(clock), "me",
        clock=clock, refresh_margin_seconds=300, fetch_lease_seconds=30,
    )
    first = await tokens.current()
    seen = set()
    for _ in range(7300):  # a send every second, past the token's end
        seen.add(await tokens.current())
        now[0] += 1
    # The first fetch, one early renewal that gets the same token back, one after expiry.
    assert wecom.fetches == 3
    assert len(seen) == 2 and first in seen
