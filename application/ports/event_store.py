"""The event store as the message pipeline writes and reads it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.events import Event


class ConcurrencyConflict(Exception):
    """Another writer appended to the stream first; re-read and decide again."""


class StoreUnavailable(Exception):
    """The store cannot be reached or written just now (database stopped or restarting, disk
    full, file read-only): nothing was recorded, and the same call may succeed later. The
    message names the kind of failure, never a statement's parameters."""


class EventStore(Protocol):
    async def append(self, events: Sequence[Event]) -> None:
        """Append events of one stream atomically. Each event's version must be the next one;
        raises ConcurrencyConflict when any (stream_id, version) already exists, and
        StoreUnavailable when nothing could be written for a reason that may pass."""

    async def read_stream(self, stream_id: str) -> list[Event]: ...

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Event]]:
        """Several streams at once, each in version order; unknown ids are left out."""

    async def memory(
        self, conversation_id: str, before_position: int | None, limit: int
    ) -> list[Event]:
        """Up to `limit` AnswerComposed / MemoryCleared events of the conversation, newest
        first, recorded before `before_position` (the whole past when None)."""

    async def position_of(self, stream_id: str, version: int) -> int: ...
