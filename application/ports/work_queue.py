"""Received messages waiting to be handled: what the scheduler looks for, and how it is told."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PendingMessage:
    stream_id: str
    conversation_id: str
    position: int


class WorkQueue(Protocol):
    async def pending(self, conversation_id: str | None = None) -> list[PendingMessage]:
        """Received messages not yet settled, oldest first."""


class WorkNotifier(Protocol):
    def notify(self, conversation_id: str) -> None:
        """A conversation has new work; whoever processes it should look."""
