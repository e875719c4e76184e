"""The usage totals as the operator's view and the quotas read them: sums over UTC days of
what the models cost, kept by the store as it records each ModelUsed event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# What totals can be grouped by.
USAGE_GROUPINGS = ("member", "department", "channel", "day")


@dataclass(frozen=True)
class UsageRow:
    """One group's totals on one channel. `key` is the member, the department id ("" when
    not known), the channel or the day (YYYY-MM-DD), as grouped."""

    key: str
    channel: str
    calls: int
    estimated_calls: int  # calls the server did not count, counted by our estimate
    tokens_in: int
    tokens_out: int
    pictures: int
    audio_seconds: float


class UsageReads(Protocol):
    async def usage_totals(self, by: str, since_day: str, until_day: str) -> list[UsageRow]:
        """Totals of the days `since_day` to `until_day` (YYYY-MM-DD, both included), one
        row per value of `by` (one of USAGE_GROUPINGS) and channel."""

    async def tokens_used(
        self,
        channel: str,
        since_day: str,
        until_day: str,
        *,
        member: str | None = None,
        department: int | None = None,
    ) -> int:
        """Tokens in and out on `channel` over those days, of `member` or of `department`."""
