"""The operator's view: what happened to each message and why, what WeCom refused and what to
do about it, and the access token's state. It only reads, and every read is bounded by a
page size, so a busy service can be looked at without slowing it down."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from application.pipeline.channel import UnknownChannel
from application.ports.event_store import EventStore
from application.ports.operator_reads import OperatorReads, ReceivedEntry
from application.ports.wecom import TokenStatus
from domain.events import DeliveryFailed, Event
from domain.message_outcome import Outcome, outcome


class OperatorStore(EventStore, OperatorReads, Protocol):
    """The store as the operator's view reads it: message index, streams, problems."""


MAX_PAGE = 200
# Conversations are listed from the newest messages: their count bounds the read.
CONVERSATION_WINDOW = 500
# WeCom errors are counted over the newest delivery problems.
PROBLEM_WINDOW = 1000


@dataclass(frozen=True)
class MessageReport:
    entry: ReceivedEntry
    events: list[Event]
    outcome: Outcome


@dataclass(frozen=True)
class ConversationSummary:
    conversation_id: str
    last_position: int
    last_at: float
    messages: int  # among the newest CONVERSATION_WINDOW messages of the service
    senders: tuple[str, ...]


@dataclass(frozen=True)
class ErrorCount:
    errcode: int | None  # None: WeCom was unreachable or answered an HTTP error
    failed: int
    postponed: int
    last_at: float
    last_reason: str
    advice: str | None


@dataclass(frozen=True)
class ErrorReport:
    looked_at: int  # delivery problems read, at most PROBLEM_WINDOW
    since: float | None  # when the oldest of them happened
    counts: list[ErrorCount]  # the most frequent first


@dataclass(frozen=True)
class TokenReport:
    valid_until: float | None
    seconds_left: float | None  # until it is renewed (shortly before WeCom's expiry)
    last_error: str | None


@dataclass(frozen=True)
class ChannelReport:
    name: str
    token: TokenReport | None  # None: the channel needs no access token (an AI bot)


TokenStatusReader = Callable[[], Awaitable[TokenStatus]]


class OperatorView:
    """`token_statuses`: every configured channel by name, with its access-token reader (None
    for a channel without a token). A channel not among them raises UnknownChannel."""

    def __init__(
        self,
        store: OperatorStore,
        token_statuses: Mapping[str, TokenStatusReader | None],
        advice: Callable[[int], str | None],
        clock: Callable[[], float] = time.time,
    ):
        self._store = store
        self._token_statuses = token_statuses
        self._advice = advice
        self._clock = clock

    async def channels(self) -> list[ChannelReport]:
        return [
            ChannelReport(name, None if read is None else await self._token_report(read))
            for name, read in self._token_statuses.items()
        ]

    async def messages(
        self,
        limit: int = 50,
        *,
        before_position: int | None = None,
        conversation_id: str | None = None,
        from_user: str | None = None,
        msg_id: str | None = None,
        channel: str | None = None,
    ) -> list[MessageReport]:
        """Newest first, each with its whole timeline."""
        entries = await self._store.received(
            _page(limit),
            before_position=before_position,
            conversation_id=conversation_id,
            from_user=from_user,
            msg_id=msg_id,
            channel=self._known(channel),
        )
        return await self._reports(entries)

    async def search(self, query: str, limit: int = 50) -> list[MessageReport]:
        """Messages whose sender (UserID), MsgId or conversation is `query`, newest first."""
        query = query.strip()
        if not query:
            return []
        limit = _page(limit)
        found: dict[int, ReceivedEntry] = {}
        for field in ("from_user", "msg_id", "conversation_id"):
            for entry in await self._store.received(limit, **{field: query}):
                found[entry.position] = entry
        newest = sorted(found.values(), key=lambda e: e.position, reverse=True)[:limit]
        return await self._reports(newest)

    async def conversations(
        self, limit: int = 50, channel: str | None = None
    ) -> list[ConversationSummary]:
        """The conversations of the newest messages, the most recently active first."""
        grouped: dict[str, list[ReceivedEntry]] = {}
        window = await self._store.received(CONVERSATION_WINDOW, channel=self._known(channel))
        for entry in window:
            grouped.setdefault(entry.conversation_id, []).append(entry)
        return [
            ConversationSummary(
                conversation_id,
                last_position=entries[0].position,
                last_at=entries[0].occurred_at,
                messages=len(entries),
                senders=tuple(dict.fromkeys(entry.from_user for entry in entries)),
            )
            for conversation_id, entries in list(grouped.items())[: _page(limit)]
        ]

    async def wecom_errors(self) -> ErrorReport:
        problems = await self._store.delivery_problems(PROBLEM_WINDOW)
        latest: dict[int | None, Event] = {}
        failed: Counter[int | None] = Counter()
        postponed: Counter[int | None] = Counter()
        for event in problems:  # newest first: the first one of a code is its latest
            latest.setdefault(event.errcode, event)
            (failed if isinstance(event, DeliveryFailed) else postponed)[event.errcode] += 1
        counts = [
            ErrorCount(
                code,
                failed=failed[code],
                postponed=postponed[code],
                last_at=event.occurred_at,
                last_reason=event.reason,
                advice=None if code is None else self._advice(code),
            )
            for code, event in latest.items()
        ]
        counts.sort(key=lambda count: count.failed + count.postponed, reverse=True)
        since = problems[-1].occurred_at if problems else None
        return ErrorReport(len(problems), since, counts)

    async def token(self, channel: str | None = None) -> TokenReport | None:
        """The access token of `channel`, or of the first app; None when there is none."""
        if channel is None:
            channel = next((n for n, r in self._token_statuses.items() if r is not None), None)
        read = self._token_statuses.get(self._known(channel)) if channel else None
        return None if read is None else await self._token_report(read)

    async def _token_report(self, read: TokenStatusReader) -> TokenReport:
        status = await read()
        left = None if status.valid_until is None else status.valid_until - self._clock()
        return TokenReport(status.valid_until, left, status.last_error)

    def _known(self, channel: str | None) -> str | None:
        if channel is not None and channel not in self._token_statuses:
            raise UnknownChannel(channel)
        return channel

    async def _reports(self, entries: list[ReceivedEntry]) -> list[MessageReport]:
        streams = await self._store.read_streams([entry.stream_id for entry in entries])
        reports = []
        for entry in entries:
            events = streams.get(entry.stream_id, [])
            reports.append(MessageReport(entry, events, outcome(events)))
        return reports


def _page(limit: int) -> int:
    return max(1, min(MAX_PAGE, limit))
