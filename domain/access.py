"""Who may ask a channel: allow and deny lists of members and departments, as a pure rule.

A deny list always wins. Empty allow lists admit everyone; once either allow list names
someone, a member must be named there or belong to a department named there.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class AccessRule:
    allow_users: frozenset[str] = frozenset()
    deny_users: frozenset[str] = frozenset()
    allow_departments: frozenset[int] = frozenset()
    deny_departments: frozenset[int] = frozenset()
    denied_reply: str = ""  # what a refused member is told; "" says nothing

    @property
    def restricts(self) -> bool:
        return bool(
            self.allow_users or self.deny_users or self.allow_departments or self.deny_departments
        )

    @property
    def needs_departments(self) -> bool:
        return bool(self.allow_departments or self.deny_departments)


def access_refusal(rule: AccessRule, user: str, departments: Collection[int] | None) -> str | None:
    """Why `user` may not ask, or None. `departments` are the member's (None: they could not
    be looked up, which refuses the member wherever a department list decides)."""
    if user in rule.deny_users:
        return f"{user} is in access.deny_users"
    unknown = f"the departments of {user} could not be looked up in WeCom"
    if departments is None and rule.deny_departments:
        return unknown
    denied = sorted(rule.deny_departments.intersection(departments or ()))
    if denied:
        return f"{user} is in department {denied[0]}, which access.deny_departments lists"
    if not rule.allow_users and not rule.allow_departments or user in rule.allow_users:
        return None
    if departments is None and rule.allow_departments:
        return unknown
    if rule.allow_departments.intersection(departments or ()):
        return None
    return f"{user} is in neither access.allow_users nor access.allow_departments"
