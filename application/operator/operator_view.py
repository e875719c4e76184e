"""The operator's view: what happened to each message and why, what WeCom refused and what to
do about it, and the access token's state. It only reads, and every read is bounded by a
page size, so a busy service can be looked at without slowing it down."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from application.channels.app.name_directory import NameDirectory
from application.pipeline.channel import UnknownChannel
from application.ports.aibot_link import LinkStatus
from application.ports.event_store import EventStore
from application.ports.operator_reads import OperatorReads, ReceivedEntry
from application.ports.wecom import TokenStatus
from domain.events import DeliveryFailed, Event, MessageReceived
from domain.message_outcome import Outcome, outcome
from domain.messages import InboundMessage


class OperatorStore(EventStore, OperatorReads, Protocol):
    """The store as the operator's view reads it: message index, streams, problems."""


MAX_PAGE = 200
# Conversations are listed from the newest messages: their count bounds the read.
CONVERSATION_WINDOW = 500
# WeCom errors are counted over the newest delivery problems.
PROBLEM_WINDOW = 1000
# Names WeCom has not told yet are waited for at most this long; the rest are shown by their
# ids, so that a WeCom that does not answer cannot hold the operator's view up.
NAMES_WAIT_SECONDS = 2.0


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
    chat_id: str = ""  # a group's; "" for a private chat
    # Where WeCom tells them: the group's name, or in a private chat the member's; and the
    # senders' names in the order of `senders`. "" where not known.
    title: str = ""
    sender_names: tuple[str, ...] = ()


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
    seconds_left: float | None  # until it is renewed (when WeCom has a new one)
    last_error: str | None


@dataclass(frozen=True)
class ChannelReport:
    name: str
    token: TokenReport | None  # None: the channel needs no access token (an AI bot)
    link: LinkStatus | None = None  # an AI bot's long connection, if it has one


TokenStatusReader = Callable[[], Awaitable[TokenStatus]]


class OperatorView:
    """`token_statuses`: every configured channel by name, with its access-token reader (None
    for a channel without a token). A channel not among them raises UnknownChannel.
    `directories`: each app's names of groups and members, by channel (a bot has none: WeCom's
    API names neither its groups nor, for it, its members)."""

    def __init__(
        self,
        store: OperatorStore,
        token_statuses: Mapping[str, TokenStatusReader | None],
        advice: Callable[[int], str | None],
        clock: Callable[[], float] = time.time,
        directories: Mapping[str, NameDirectory] | None = None,
        link_statuses: Mapping[str, Callable[[], LinkStatus]] | None = None,
    ):
        self._store = store
        self._token_statuses = token_statuses
        self._advice = advice
        self._clock = clock
        self._directories = directories or {}
        self._link_statuses = link_statuses or {}

    async def channels(self) -> list[ChannelReport]:
        """Each channel with its access token (an app) or its long connection (a bot in
        websocket mode): connected since when, or the last reason it was down."""
        return [
            ChannelReport(
                name,
                None if read is None else await self._token_report(read),
                self._link_statuses[name]() if name in self._link_statuses else None,
            )
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
        shown = list(grouped.items())[: _page(limit)]
        # Each conversation's newest message says its channel, and whether it is a group.
        streams = await self._store.read_streams([entries[0].stream_id for _, entries in shown])
        newest = {
            conversation_id: _received(streams.get(entries[0].stream_id, []))
            for conversation_id, entries in shown
        }
        summaries = [
            ConversationSummary(
                conversation_id,
                last_position=entries[0].position,
                last_at=entries[0].occurred_at,
                messages=len(entries),
                senders=tuple(dict.fromkeys(entry.from_user for entry in entries)),
                chat_id=newest[conversation_id].chat_id if newest[conversation_id] else "",
            )
            for conversation_id, entries in shown
        ]
        return await self._named(summaries, newest)

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

    async def _named(
        self,
        summaries: list[ConversationSummary],
        newest: Mapping[str, InboundMessage | None],
    ) -> list[ConversationSummary]:
        channel_of = {
            conversation: message.channel if message else ""
            for conversation, message in newest.items()
        }
        chats: dict[tuple[str, str], Awaitable[str | None]] = {}
        members: dict[tuple[str, str], Awaitable[str]] = {}
        for summary in summaries:
            channel = channel_of[summary.conversation_id]
            directory = self._directories.get(channel)
            if directory is None:
                continue
            if summary.chat_id and (channel, summary.chat_id) not in chats:
                chats[channel, summary.chat_id] = directory.chat_name(summary.chat_id)
            for user in summary.senders:
                if (channel, user) not in members:
                    members[channel, user] = directory.member_name(user)
        chat_names, member_names = await asyncio.gather(_answered(chats), _answered(members))
        named = []
        for summary in summaries:
            channel = channel_of[summary.conversation_id]
            # The directory gives back the UserID itself for a member it has no name for.
            names = tuple(
                "" if member_names.get((channel, user), user) == user
                else member_names[channel, user]
                for user in summary.senders
            )
            title = chat_names.get((channel, summary.chat_id), "") if summary.chat_id else names[0]
            named.append(replace(summary, title=title, sender_names=names))
        return named

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


def _received(stream: list[Event]) -> InboundMessage | None:
    first = stream[0] if stream else None
    return first.message if isinstance(first, MessageReceived) else None


async def _answered(asks: Mapping[Hashable, Awaitable[str | None]]) -> dict[Hashable, str]:
    """The names that came within NAMES_WAIT_SECONDS, by what was asked."""
    tasks = {key: asyncio.ensure_future(ask) for key, ask in asks.items()}
    if not tasks:
        return {}
    _, late = await asyncio.wait(tasks.values(), timeout=NAMES_WAIT_SECONDS)
    for task in late:
        task.cancel()
    # A lookup that failed is a name not known, never a failed page.
    done = [(key, task) for key, task in tasks.items() if task not in late and not task.exception()]
    return {key: task.result() for key, task in done if task.result()}
