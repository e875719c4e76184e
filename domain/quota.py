"""How many tokens a member, or a whole department, may have the models spend on a channel:
per UTC day for a member, per calendar month (UTC) for a department. A pure rule: the caller
says what has been used, counted from the store, so every instance sees the same totals.

A call that starts under the quota is finished, so a quota can be passed by what the calls
running at that moment use; the next message is then refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.usage import month_of, next_day_start


@dataclass(frozen=True)
class Quota:
    member_tokens_per_day: int = 0  # 0: no limit
    department_tokens_per_month: int = 0

    @property
    def enabled(self) -> bool:
        return bool(self.member_tokens_per_day or self.department_tokens_per_month)


@dataclass(frozen=True)
class QuotaSpent:
    """Which allowance is used up: `key` names it, `period` is its day or month, and it is
    renewed at `resets_at` (epoch seconds)."""

    key: str  # "member_tokens_per_day" or "department_tokens_per_month"
    limit: int
    period: str
    resets_at: float

    @property
    def reason(self) -> str:
        return f"over quota: {self.key} {self.limit} used up for {self.period}"


def quota_spent(
    quota: Quota, day: str, member_tokens: int, department_tokens: int | None
) -> QuotaSpent | None:
    """The allowance used up on `day` (YYYY-MM-DD, UTC), if any. `member_tokens` is what the
    member used that day, `department_tokens` what their department used that month (None
    when the department is not known: then no department quota applies)."""
    limit = quota.member_tokens_per_day
    if limit and member_tokens >= limit:
        return QuotaSpent("member_tokens_per_day", limit, day, next_day_start(day))
    limit = quota.department_tokens_per_month
    if limit and department_tokens is not None and department_tokens >= limit:
        _first, last = month_of(day)
        return QuotaSpent("department_tokens_per_month", limit, day[:7], next_day_start(last))
    return None
