"""Migration 3: the keys recorded before channels, rewritten to name their channel.

Before there were several apps and bots, a message's stream id and a conversation id named
only the app's agent (`msg:1000002:123`, `user:1000002:zhangsan`) or the AI bot
(`aibot:abc`, `aibot:user:zhangsan`). Those were the seed's one app and one bot, which are now
the channels `app:default` and `aibot:default`; rewriting the keys carries their memory into
the new conversations and keeps a retried pre-upgrade message deduplicated.

The rewrite is frozen with the migration (literal prefixes, not the domain's key functions):
a released migration must keep doing what it did when the key format moves on. It walks each
table by position in bounded batches and touches only keys of the old shapes, so running it
again changes nothing. Leases are left alone: they expire within seconds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    or_,
    select,
    update,
)

from adapters.outbound.persistence.sqlalchemy_schema import (
    events,
    pending_messages,
    received_messages,
)

log = logging.getLogger(__name__)

BATCH = 1000
_APP, _AIBOT = "app:default/", "aibot:default/"
# Keys written since channels: "<kind>:<name>/…".
_CHANNEL_KEY = re.compile(r"(?:app|aibot):[a-z0-9_-]{1,32}/")
_APP_STREAM = re.compile(r"(msg|event):\d+:(.+)", re.DOTALL)
_APP_CONVERSATION = re.compile(r"(user|group):\d+:(.+)", re.DOTALL)
_AIBOT_CONVERSATION = re.compile(r"aibot:((?:user|group):.+)", re.DOTALL)


def channel_stream_id(stream_id: str) -> str:
    """`msg:<agent>:<id>` → `app:default/msg:<id>`, `event:<agent>:<user>:<time>` →
    `app:default/event:<user>:<time>`, `aibot:<msgid>` → `aibot:default/msg:<msgid>`; a key
    of any other shape is returned as it is."""
    if _CHANNEL_KEY.match(stream_id):
        return stream_id
    if found := _APP_STREAM.fullmatch(stream_id):
        return f"{_APP}{found[1]}:{found[2]}"
    if stream_id.startswith("aibot:"):
        return f"{_AIBOT}msg:{stream_id.removeprefix('aibot:')}"
    return stream_id


def channel_conversation_id(conversation_id: str) -> str:
    """`user:<agent>:<u>` → `app:default/user:<u>`, `group:<agent>:<chat>[:<u>]` →
    `app:default/group:<chat>[:<u>]`, `aibot:user:<u>` → `aibot:default/user:<u>`,
    `aibot:group:<chat>[:<u>]` → `aibot:default/group:<chat>[:<u>]`; any other shape as it is."""
    if _CHANNEL_KEY.match(conversation_id):
        return conversation_id
    if found := _APP_CONVERSATION.fullmatch(conversation_id):
        return f"{_APP}{found[1]}:{found[2]}"
    if found := _AIBOT_CONVERSATION.fullmatch(conversation_id):
        return f"{_AIBOT}{found[1]}"
    return conversation_id


def prefix_legacy_keys(conn: Connection) -> None:
    """Rewrites the old keys of the event log, the pending projection and the message index.

    A pre-upgrade message whose new stream id is taken already (a version of the service with
    channels ran on this database before this migration, and took a WeCom retry of it) keeps
    its old stream id, so the unique constraints hold; its conversation is still rewritten,
    so memory carries over.
    """
    kept = _taken_stream_ids(conn)
    moved = sum(
        _rewrite(conn, table, kept) for table in (events, pending_messages, received_messages)
    )
    if moved:
        log.info(
            "%d rows recorded before channels now name app:default or aibot:default "
            "(%d messages kept their old ids, their new ones being taken)",
            moved, len(kept),
        )


def _batches(conn: Connection, query: Select, position: ColumnElement) -> Iterator[list[Row]]:
    """The rows of `query`, BATCH at a time in the order of `position`."""
    query = query.order_by(position).limit(BATCH)
    after = None
    while rows := conn.execute(query if after is None else query.where(position > after)).all():
        yield rows
        after = rows[-1].position


def _maybe_old(column: ColumnElement) -> ColumnElement:
    """A superset of the old shapes, to skip what is new in SQL: every new key starts with
    `app:` or has a '/' after `aibot:`; no old one does."""
    return and_(~column.startswith("app:"), ~column.like("aibot:%/%"))


def _taken_stream_ids(conn: Connection) -> set[str]:
    """The old stream ids whose new id is in the log already, looked up before any rewrite."""
    first_events = select(events.c.position, events.c.stream_id).where(
        events.c.version == 1, _maybe_old(events.c.stream_id)
    )
    taken: set[str] = set()
    for rows in _batches(conn, first_events, events.c.position):
        renamed = {channel_stream_id(row.stream_id): row.stream_id for row in rows}
        found = conn.execute(
            select(events.c.stream_id).where(events.c.stream_id.in_(list(renamed))).distinct()
        )
        taken |= {renamed[new] for new in found.scalars() if renamed[new] != new}
    return taken


def _rewrite(conn: Connection, table: Table, kept: set[str]) -> int:
    """Rewrites `table`'s old keys, leaving the stream ids in `kept`; how many rows changed."""
    columns = table.c
    old = select(columns.position, columns.stream_id, columns.conversation_id).where(
        or_(_maybe_old(columns.stream_id), _maybe_old(columns.conversation_id))
    )
    change = (
        update(table)
        .where(columns.position == bindparam("at"))
        .values(stream_id=bindparam("stream"), conversation_id=bindparam("conversation"))
    )
    changed = 0
    for rows in _batches(conn, old, columns.position):
        new = [
            {
                "at": row.position,
                "stream": row.stream_id if row.stream_id in kept
                else channel_stream_id(row.stream_id),
                "conversation": channel_conversation_id(row.conversation_id),
            }
            for row in rows
        ]
        new = [
            values for values, row in zip(new, rows, strict=True)
            if (values["stream"], values["conversation"]) != (row.stream_id, row.conversation_id)
        ]
        if new:
            conn.execute(change, new)
        changed += len(new)
    return changed
