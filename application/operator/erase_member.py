"""Erasing one member's content now, on an operator's request: what they wrote and what they
were answered, on every channel, page by page through the message index. The request is
recorded (who asked, how many messages) as an audit event; the facts and totals stay."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Protocol

from application.ports.content_removal import ContentRemoval
from application.ports.event_store import EventStore
from application.ports.operator_reads import OperatorReads
from domain.events import MemberErased

# The audit events' own conversation: no member's, so no memory ever reads it.
ERASURES = "admin/erasures"
_PAGE = 200


class ErasableStore(EventStore, OperatorReads, ContentRemoval, Protocol):
    pass


class EraseMember:
    def __init__(self, store: ErasableStore, clock: Callable[[], float] = time.time):
        self._store = store
        self._clock = clock

    async def __call__(self, member: str, requested_by: str) -> int | None:
        """How many of the member's messages had their content removed; None when no
        message from `member` was ever recorded."""
        messages, before = 0, None
        while entries := await self._store.received(
            _PAGE, before_position=before, from_user=member
        ):
            await self._store.remove_content_of([entry.stream_id for entry in entries])
            messages += len(entries)
            before = entries[-1].position
        if not messages:
            return None
        erased = MemberErased(
            stream_id=f"erasure:{uuid.uuid4().hex}",
            version=1,
            conversation_id=ERASURES,
            occurred_at=self._clock(),
            member=member,
            requested_by=requested_by,
            messages=messages,
        )
        await self._store.append([erased])
        return messages
