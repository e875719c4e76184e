"""Where a received message waits, durably, while the event store cannot record it."""

from __future__ import annotations

from typing import Protocol

from domain.events import MessageReceived


class SpoolRefused(Exception):
    """The spool cannot take the message: its bound is reached, or its own disk failed."""


class MessageSpool(Protocol):
    @property
    def count(self) -> int:
        """Messages waiting in the spool (known without touching the disk)."""

    async def put(self, received: MessageReceived) -> bool:
        """Keeps the message durably (on disk before returning); False when a message with
        the same stream id is already waiting. Raises SpoolRefused."""

    async def oldest(self, limit: int) -> list[tuple[int, MessageReceived]]:
        """Up to `limit` waiting messages, in the order they were put, with their spool ids."""

    async def remove(self, spool_id: int) -> None:
        """Forgets a message once the store holds it."""
