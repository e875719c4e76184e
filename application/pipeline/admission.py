"""Whether a message the rules would answer may be answered: the channel's access rule for
every answer, and for model calls, which cost money, the quota (counted in the store, so
shared by every instance) and the per-process rate limit.

A refusal is told once: a member refused for a quota or a rate limit gets one notice with
when to try again, and later messages in that stretch are ignored with the reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from application.pipeline.channel import Channel
from application.ports.shared_state import LeaseStore
from application.ports.usage import UsageReads
from domain import notices
from domain.access import access_refusal
from domain.events import MessageReceived
from domain.policy import Ignore
from domain.quota import quota_spent
from domain.rate_limit import SlowDown
from domain.usage import month_of, usage_day

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    reason: str  # recorded with the notice, or as why the message was ignored
    notice: str = ""  # what the member is told; "" says nothing


class Admission:
    def __init__(
        self, usage: UsageReads, leases: LeaseStore, clock: Callable[[], float] = time.time
    ):
        self._usage = usage
        self._leases = leases
        self._clock = clock

    async def access(self, channel: Channel, user: str) -> Refusal | None:
        rule = channel.access
        if not rule.restricts:
            return None
        departments = await channel.departments(user) if rule.needs_departments else ()
        why = access_refusal(rule, user, departments)
        if why is None:
            return None
        log.info("%s is refused by %s's access rule: %s", user, channel.name, why)
        return Refusal(f"access denied: {why}", rule.denied_reply)

    async def model_call(self, channel: Channel, received: MessageReceived) -> Refusal | None:
        """Checked before every model call; a call admitted counts against the rate limit,
        at the time its message arrived."""
        return await self._quota(channel, received) or self._rate(channel, received)

    async def _quota(self, channel: Channel, received: MessageReceived) -> Refusal | None:
        quota = channel.quota
        if not quota.enabled:
            return None
        member = received.message.from_user
        now = self._clock()
        day = usage_day(now)
        member_tokens = 0
        if quota.member_tokens_per_day:
            member_tokens = await self._usage.tokens_used(channel.name, day, day, member=member)
        department_tokens = None
        if quota.department_tokens_per_month:
            department_tokens = await self._department_tokens(channel, member, day)
        spent = quota_spent(quota, day, member_tokens, department_tokens)
        if spent is None:
            return None
        # The first message over an allowance holds this lease until the allowance renews:
        # that message (also when handled again after a crash) tells the member, no other.
        told = f"quota-told:{channel.name}:{member}:{spent.key}:{spent.period}"
        if not await self._leases.acquire(told, received.stream_id, spent.resets_at - now):
            return Refusal(f"{spent.reason}; the member was already told")
        log.info("%s on %s is %s", member, channel.name, spent.reason)
        return Refusal(spent.reason, notices.quota_spent(spent.key, spent.limit, spent.resets_at))

    async def _department_tokens(self, channel: Channel, member: str, day: str) -> int | None:
        """What the member's main department used this month; None when it is not known."""
        departments = await channel.departments(member)
        if not departments:
            return None
        first, last = month_of(day)
        return await self._usage.tokens_used(channel.name, first, last, department=departments[0])

    @staticmethod
    def _rate(channel: Channel, received: MessageReceived) -> Refusal | None:
        verdict = channel.rate_limiter.check(received.message.from_user, received.occurred_at)
        if isinstance(verdict, Ignore):
            return Refusal(verdict.reason)
        if isinstance(verdict, SlowDown):
            limit = verdict.limit
            text = notices.slow_down(limit.messages, limit.per_seconds, verdict.retry_after_seconds)
            return Refusal("rate limited", text)
        return None
