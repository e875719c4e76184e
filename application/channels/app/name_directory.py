"""Names and departments from WeCom's directory, cached: a group's name decides the whitelist,
a member's name is how a group reply addresses the asker, a member's departments decide
access and whom their use is counted to. All change rarely and asking WeCom for every
message would spend its API quota."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from application.ports.wecom import DeliveryError, Member, WeComGateway

log = logging.getLogger(__name__)

CHAT_NAME_SECONDS = 600.0
MEMBER_SECONDS = 3600.0
# Enough for every group and member of a large company; beyond it the oldest entries go.
MAX_ENTRIES = 20_000


class NameDirectory:
    def __init__(self, gateway: WeComGateway, clock: Callable[[], float] = time.monotonic):
        self._gateway = gateway
        self._clock = clock
        self._chats: dict[str, tuple[str | None, float]] = {}
        self._members: dict[str, tuple[Member | None, float]] = {}
        self._departments: dict[tuple[int, ...], tuple[int, ...]] = {}

    async def chat_name(self, chat_id: str) -> str | None:
        """The group's name, or None when WeCom does not know it or cannot be asked now."""
        return await self._cached(self._chats, chat_id, CHAT_NAME_SECONDS, self._gateway.chat_name)

    async def member_name(self, user_id: str) -> str:
        """The member's display name, or the user id when the name cannot be had."""
        member = await self._member(user_id)
        return member.name if member is not None and member.name else user_id

    async def departments(self, user_id: str) -> tuple[int, ...] | None:
        """The member's department ids, the main one first; None when WeCom does not know
        the member or cannot be asked now."""
        member = await self._member(user_id)
        return None if member is None else member.departments

    async def _member(self, user_id: str) -> Member | None:
        return await self._cached(self._members, user_id, MEMBER_SECONDS, self._ask_member)

    async def _ask_member(self, user_id: str) -> Member | None:
        member = await self._gateway.member(user_id)
        if member is None:
            return None
        # The members of one department share one tuple of its ids instead of a copy each
        # (about a fifth of what the directory holds per member).
        if len(self._departments) >= MAX_ENTRIES:
            self._departments.clear()
        shared = self._departments.setdefault(member.departments, member.departments)
        return Member(member.name, shared)

    async def _cached(self, cache, key, seconds, ask):
        now = self._clock()
        hit = cache.get(key)
        if hit and hit[1] > now:
            return hit[0]
        try:
            found = await ask(key)
        except DeliveryError as err:
            # Not cached: the next message asks again once WeCom answers.
            log.warning("could not look up %s in WeCom: %s", key, err.reason)
            return hit[0] if hit else None
        if len(cache) >= MAX_ENTRIES:
            cache.pop(next(iter(cache)))
        cache[key] = (found, now + seconds)
        return found
