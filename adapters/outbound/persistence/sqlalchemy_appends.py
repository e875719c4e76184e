"""Writing a batch of appends in one transaction: each append is checked against the stream's
current version (and the appends before it in the batch), and those that pass are inserted
together, with the projections kept in the same transaction. Synchronous, so that SQLite runs
it whole on its writer thread and PostgreSQL through `AsyncConnection.run_sync`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, func, insert, select

from adapters.outbound.persistence.event_serialization import to_row
from adapters.outbound.persistence.sqlalchemy_operator_reads import index_received
from adapters.outbound.persistence.sqlalchemy_schema import events, pending_messages
from adapters.outbound.persistence.sqlalchemy_usage import add_usage
from application.ports.event_store import ConcurrencyConflict
from domain.events import Event, MessageReceived, ModelUsed

Append = tuple[Event, ...]  # consecutive versions of one stream


def record_appends(conn: Connection, appends: Sequence[Append]) -> list[Exception | None]:
    """None for each append recorded, a ConcurrencyConflict for each whose first version is
    not its stream's next. The check reads the committed versions: exact on SQLite, where the
    transaction holds the write lock from its start; on PostgreSQL another process can insert
    between the check and the insert, which then raises IntegrityError for the whole batch."""
    versions = _current_versions(conn, {append[0].stream_id for append in appends})
    outcomes: list[Exception | None] = []
    accepted: list[Event] = []
    for append in appends:
        stream_id, first = append[0].stream_id, append[0].version
        current = versions.get(stream_id, 0)
        if current != first - 1:
            outcomes.append(
                ConcurrencyConflict(
                    f"{stream_id}: at version {current}, cannot append version {first}"
                )
            )
            continue
        versions[stream_id] = append[-1].version
        accepted += append
        outcomes.append(None)
    if accepted:
        _insert(conn, accepted)
    return outcomes


def _current_versions(conn: Connection, stream_ids: set[str]) -> dict[str, int]:
    query = (
        select(events.c.stream_id, func.max(events.c.version))
        .where(events.c.stream_id.in_(stream_ids))
        .group_by(events.c.stream_id)
    )
    return {stream_id: version for stream_id, version in conn.execute(query)}


def _insert(conn: Connection, accepted: list[Event]) -> None:
    # One INSERT … RETURNING for the batch. The rows are matched to their positions by their
    # (stream, version) key: asking SQLAlchemy to keep the parameters' order instead makes it
    # insert row by row on SQLite, whose RETURNING order is not guaranteed.
    inserted = conn.execute(
        insert(events).returning(events.c.stream_id, events.c.version, events.c.position),
        [to_row(event) for event in accepted],
    )
    position_of = {(stream_id, version): position for stream_id, version, position in inserted}
    received = [
        (event, position_of[event.stream_id, event.version])
        for event in accepted
        if isinstance(event, MessageReceived)
    ]
    if received:
        conn.execute(
            insert(pending_messages),
            [
                {
                    "stream_id": event.stream_id,
                    "conversation_id": event.conversation_id,
                    "position": position,
                }
                for event, position in received
            ],
        )
        index_received(conn, received)
    used = [event for event in accepted if isinstance(event, ModelUsed)]
    if used:
        add_usage(conn, used)
    # After the inserts: a message received and settled in one batch ends up settled.
    settled = [event.stream_id for event in accepted if event.settles_message]
    if settled:
        conn.execute(delete(pending_messages).where(pending_messages.c.stream_id.in_(settled)))
