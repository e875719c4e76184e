"""Usage totals for the operator: what the models cost, grouped by member, department,
channel or day, with an estimated price from each channel's `llm.price`. Read from the
store's usage projection, so a year of totals costs the rows of its days, not the log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from application.ports.usage import UsageReads, UsageRow
from domain.usage import Price


@dataclass
class UsageTotal:
    key: str
    calls: int = 0
    estimated_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    pictures: int = 0
    audio_seconds: float = 0.0
    cost: float = 0.0

    def add(self, row: UsageRow, price: Price) -> None:
        self.calls += row.calls
        self.estimated_calls += row.estimated_calls
        self.tokens_in += row.tokens_in
        self.tokens_out += row.tokens_out
        self.pictures += row.pictures
        self.audio_seconds += row.audio_seconds
        self.cost += price.cost(row.tokens_in, row.tokens_out, row.pictures, row.audio_seconds)


class UsageReport:
    """`prices`: each configured channel's price (a channel no longer configured costs 0)."""

    def __init__(self, reads: UsageReads, prices: Mapping[str, Price]):
        self._reads = reads
        self._prices = prices

    async def totals(self, by: str, since_day: str, until_day: str) -> list[UsageTotal]:
        """One total per member, department, channel or day (as `by` says), in key order."""
        totals: dict[str, UsageTotal] = {}
        for row in await self._reads.usage_totals(by, since_day, until_day):
            total = totals.setdefault(row.key, UsageTotal(row.key))
            total.add(row, self._prices.get(row.channel, Price()))
        return list(totals.values())
