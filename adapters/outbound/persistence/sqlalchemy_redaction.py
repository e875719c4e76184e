"""Content removal in place (domain.redaction): the retention job walks the log oldest first
in bounded batches, keeping in `retention_progress` how far it has come, so each day's run
reads only the events that have aged past the limit since the last one."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import takewhile

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.outbound.persistence.event_serialization import from_row, to_row
from adapters.outbound.persistence.sqlalchemy_schema import (
    events,
    media_blobs,
    metadata,
    retention_progress,
)
from domain.events import PictureSeen
from domain.redaction import CONTENT_EVENT_TYPES, without_content

_RETENTION = "retention"


def create_retention_progress(conn: Connection) -> None:
    """Migration 5."""
    metadata.create_all(conn, tables=[retention_progress])


class ContentRemoval:
    """Mixed into SqlAlchemyEventStore, whose engine it writes."""

    _engine: AsyncEngine

    async def remove_content_before(self, cutoff: float, batch: int) -> int:
        progress = retention_progress.c
        async with self._engine.begin() as conn:
            # FOR UPDATE (PostgreSQL): a second job at the same moment waits, then goes on.
            mark = select(progress.position).where(progress.name == _RETENTION).with_for_update()
            after = (await conn.execute(mark)).scalar()
            rows = (
                await conn.execute(
                    select(events)
                    .where(events.c.position > (after or 0))
                    .order_by(events.c.position)
                    .limit(batch)
                )
            ).all()
            aged = list(takewhile(lambda row: row.occurred_at < cutoff, rows))
            if not aged:
                return 0
            await _rewrite(conn, aged)
            last = aged[-1].position
            if after is None:
                insert = retention_progress.insert().values(name=_RETENTION, position=last)
                await conn.execute(insert)
            else:
                await conn.execute(
                    update(retention_progress)
                    .where(progress.name == _RETENTION)
                    .values(position=last)
                )
        return len(aged)

    async def remove_content_of(self, stream_ids: Sequence[str]) -> int:
        if not stream_ids:
            return 0
        query = select(events).where(
            events.c.stream_id.in_(list(stream_ids)), events.c.event_type.in_(CONTENT_EVENT_TYPES)
        )
        async with self._engine.begin() as conn:
            return await _rewrite(conn, (await conn.execute(query)).all())


async def _rewrite(conn: AsyncConnection, rows: Sequence) -> int:
    """Writes each content event of `rows` back without its content, and deletes the pictures
    those events kept (a picture sent twice goes for both); how many events changed."""
    changed = []
    pictures = []
    for row in rows:
        if row.event_type not in CONTENT_EVENT_TYPES:
            continue
        event = from_row(row)
        stripped = without_content(event)
        if stripped is not None:
            changed.append({"at": row.position, "stripped": to_row(stripped)["data"]})
            if isinstance(event, PictureSeen):
                pictures.append(event.digest)
    if pictures:
        await conn.execute(delete(media_blobs).where(media_blobs.c.digest.in_(pictures)))
    if changed:
        await conn.execute(
            update(events)
            .where(events.c.position == bindparam("at"))
            .values(data=bindparam("stripped")),
            changed,
        )
    return len(changed)
