"""Removing content from the store in place, for retention and erasure (domain.redaction
says what content is). Each call is one bounded batch in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class ContentRemoval(Protocol):
    async def remove_content_before(self, cutoff: float, batch: int) -> int:
        """Removes the content of the oldest events recorded before `cutoff` (epoch seconds),
        at most `batch` of them, continuing where the last call stopped; returns how many
        events it went past (0: none is left before `cutoff`)."""

    async def remove_content_of(self, stream_ids: Sequence[str]) -> int:
        """Removes the content of every event of these streams; returns how many changed."""
