"""A hand-written in-memory event store with the same contract as the SQL one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from adapters.outbound.persistence.event_serialization import to_row
from application.ports.event_store import ConcurrencyConflict
from application.ports.operator_reads import ReceivedEntry, RecordedEvent, StoreStatistics
from application.ports.usage import UsageRow
from application.ports.work_queue import PendingMessage
from domain.events import (
    MEMORY_EVENT_TYPES,
    AnnouncementRequested,
    DeliveryFailed,
    DeliveryPostponed,
    Event,
    MessageReceived,
    ModelUsed,
    first_version_of_batch,
)
from domain.messages import conversation_prefix
from domain.redaction import without_content
from domain.usage import usage_day


class InMemoryEventStore:
    def __init__(self) -> None:
        self.log: list[Event] = []  # index + 1 is the position
        self._versions: dict[str, int] = {}
        self._pending: dict[str, PendingMessage] = {}
        self._retained_after = 0  # positions up to this have had aged content removed
        self.unreachable = False

    async def append(self, new_events: Sequence[Event]) -> None:
        if not new_events:
            return
        stream_id = new_events[0].stream_id
        first = first_version_of_batch(new_events)
        if self._versions.get(stream_id, 0) != first - 1:
            raise ConcurrencyConflict(f"{stream_id}: version already taken")
        for event in new_events:
            self.log.append(event)
            self._versions[stream_id] = event.version
            if isinstance(event, MessageReceived):
                self._pending[stream_id] = PendingMessage(
                    stream_id, event.conversation_id, len(self.log)
                )
            if event.settles_message:
                self._pending.pop(stream_id, None)

    async def read_stream(self, stream_id: str) -> list[Event]:
        return [e for e in self.log if e.stream_id == stream_id]

    async def memory(
        self, conversation_id: str, before_position: int | None, limit: int
    ) -> list[Event]:
        end = len(self.log) if before_position is None else before_position - 1
        found = [
            e
            for e in reversed(self.log[:end])
            if e.conversation_id == conversation_id and type(e).__name__ in MEMORY_EVENT_TYPES
        ]
        return found[:limit]

    async def position_of(self, stream_id: str, version: int) -> int:
        for index, event in enumerate(self.log):
            if (event.stream_id, event.version) == (stream_id, version):
                return index + 1
        raise KeyError(f"{stream_id} has no version {version}")

    async def ping(self) -> None:
        if self.unreachable:
            raise ConnectionError("the in-memory store was told to be unreachable")

    async def pending(self, conversation_id: str | None = None) -> list[PendingMessage]:
        items = sorted(self._pending.values(), key=lambda p: p.position)
        return [p for p in items if conversation_id in (None, p.conversation_id)]

    async def statistics(self) -> StoreStatistics:
        counts = Counter(type(event).__name__ for event in self.log)
        return StoreStatistics(events_by_type=dict(counts), pending_messages=len(self._pending))

    async def received(
        self,
        limit: int,
        *,
        before_position: int | None = None,
        conversation_id: str | None = None,
        from_user: str | None = None,
        msg_id: str | None = None,
        channel: str | None = None,
    ) -> list[ReceivedEntry]:
        entries = [
            ReceivedEntry(
                position, e.stream_id, e.conversation_id, e.message.from_user, e.message.msg_id,
                e.occurred_at,
            )
            for position, e in enumerate(self.log, start=1)
            if isinstance(e, MessageReceived)
        ]
        wanted = [
            entry
            for entry in reversed(entries)
            if (before_position is None or entry.position < before_position)
            and conversation_id in (None, entry.conversation_id)
            and from_user in (None, entry.from_user)
            and msg_id in (None, entry.msg_id)
            and (channel is None or entry.conversation_id.startswith(conversation_prefix(channel)))
        ]
        return wanted[:limit]

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Event]]:
        found: dict[str, list[Event]] = {}
        for event in self.log:
            if event.stream_id in stream_ids:
                found.setdefault(event.stream_id, []).append(event)
        return found

    async def delivery_problems(self, limit: int) -> list[Event]:
        problems = DeliveryFailed | DeliveryPostponed
        return [e for e in reversed(self.log) if isinstance(e, problems)][:limit]

    def _used(self) -> list[tuple[str, ModelUsed]]:
        return [(usage_day(e.occurred_at), e) for e in self.log if isinstance(e, ModelUsed)]

    async def usage_totals(self, by: str, since_day: str, until_day: str) -> list[UsageRow]:
        sums: dict[tuple[str, str], list] = {}
        for day, used in self._used():
            if not since_day <= day <= until_day:
                continue
            department = "" if used.department is None else str(used.department)
            key = {"member": used.member, "department": department, "channel": used.channel,
                   "day": day}[by]
            usage = used.usage
            row = sums.setdefault((key, used.channel), [0, 0, 0, 0, 0, 0.0])
            for index, value in enumerate(
                (1, int(usage.estimated), usage.tokens_in, usage.tokens_out, usage.pictures,
                 usage.audio_seconds)
            ):
                row[index] += value
        return [UsageRow(key, channel, *row) for (key, channel), row in sorted(sums.items())]

    async def tokens_used(
        self,
        channel: str,
        since_day: str,
        until_day: str,
        *,
        member: str | None = None,
        department: int | None = None,
    ) -> int:
        return sum(
            used.usage.tokens
            for day, used in self._used()
            if used.channel == channel
            and since_day <= day <= until_day
            and member in (None, used.member)
            and department in (None, used.department)
        )

    async def remove_content_before(self, cutoff: float, batch: int) -> int:
        looked = 0
        for index in range(self._retained_after, min(len(self.log), self._retained_after + batch)):
            if self.log[index].occurred_at >= cutoff:
                break
            self.log[index] = without_content(self.log[index]) or self.log[index]
            looked += 1
        self._retained_after += looked
        return looked

    async def remove_content_of(self, stream_ids: Sequence[str]) -> int:
        changed = 0
        for index, event in enumerate(self.log):
            stripped = without_content(event) if event.stream_id in stream_ids else None
            if stripped is not None:
                self.log[index] = stripped
                changed += 1
        return changed

    async def events_between(
        self, since: float, until: float, after_position: int, limit: int
    ) -> list[RecordedEvent]:
        found = [
            RecordedEvent(position=position, **to_row(event))
            for position, event in enumerate(self.log, start=1)
            if position > after_position and since <= event.occurred_at < until
        ]
        return found[:limit]

    async def announcements(self, limit: int) -> list[Event]:
        return [e for e in reversed(self.log) if isinstance(e, AnnouncementRequested)][:limit]
