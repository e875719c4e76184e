"""A handler's answer when a message has to wait (for WeCom, or for its stream's deadline)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Postponed:
    """The message is waiting until `until` (epoch seconds)."""

    until: float
