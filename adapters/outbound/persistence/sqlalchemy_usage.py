"""The usage projection: totals per UTC day, channel, member and department, added to in the
transaction that appends each ModelUsed event, so the totals never lag the log and reading
them costs the rows of the days asked for, never a scan of the events."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from sqlalchemy import Connection, Insert, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.persistence.sqlalchemy_schema import metadata, upsert_into, usage_totals
from application.ports.usage import UsageRow
from domain.events import ModelUsed
from domain.usage import usage_day

_SUMMED = ("calls", "estimated_calls", "tokens_in", "tokens_out", "pictures", "audio_seconds")
_UNKNOWN_DEPARTMENT = 0  # WeCom's department ids start at 1
_KEYS = {  # by USAGE_GROUPINGS
    "member": usage_totals.c.member,
    "department": usage_totals.c.department,
    "channel": usage_totals.c.channel,
    "day": usage_totals.c.day,
}


def create_usage_totals(conn: Connection) -> None:
    """Migration 4. Nothing to fill: ModelUsed events begin with this version."""
    metadata.create_all(conn, tables=[usage_totals])


# Plain SQL, frozen with the migration that runs it; both SQLite and PostgreSQL take it.
_MEMBER_INDEX = "CREATE INDEX ix_usage_member ON usage_totals (channel, member, day)"


def index_usage_by_member(conn: Connection) -> None:
    """Migration 8. A member's daily quota is checked before each of their model calls by
    reading their rows of the day; no index began with the member, and SQLite searched
    ix_usage_department by the channel alone: every row the channel had ever recorded."""
    conn.execute(text(_MEMBER_INDEX))


def add_usage(conn: Connection, used: Sequence[ModelUsed]) -> None:
    """Called in the transaction that appends the events `used`."""
    conn.execute(_upsert(conn.dialect.name), [_row(event) for event in used])


def _row(event: ModelUsed) -> dict[str, object]:
    usage = event.usage
    return {
        "day": usage_day(event.occurred_at),
        "channel": event.channel,
        "member": event.member,
        "department": event.department or _UNKNOWN_DEPARTMENT,
        "calls": 1,
        "estimated_calls": int(usage.estimated),
        "tokens_in": usage.tokens_in,
        "tokens_out": usage.tokens_out,
        "pictures": usage.pictures,
        "audio_seconds": usage.audio_seconds,
    }


@cache
def _upsert(dialect_name: str) -> Insert:
    """Built once: constructing it for every event was an eighth of a burst's CPU (profile)."""
    insert = upsert_into(usage_totals, dialect_name)
    return insert.on_conflict_do_update(
        index_elements=["day", "channel", "member", "department"],
        set_={name: usage_totals.c[name] + insert.excluded[name] for name in _SUMMED},
    )


class UsageReads:
    """Mixed into SqlAlchemyEventStore, whose engine it reads."""

    _engine: AsyncEngine

    async def usage_totals(self, by: str, since_day: str, until_day: str) -> list[UsageRow]:
        key = _KEYS[by]
        query = (
            select(key, usage_totals.c.channel, *(func.sum(usage_totals.c[n]) for n in _SUMMED))
            .where(usage_totals.c.day.between(since_day, until_day))
            .group_by(key, usage_totals.c.channel)
            .order_by(key, usage_totals.c.channel)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            UsageRow(
                _key_text(by, row[0]), row[1], int(row[2]), int(row[3]), int(row[4]),
                int(row[5]), int(row[6]), float(row[7]),
            )
            for row in rows
        ]

    async def tokens_used(
        self,
        channel: str,
        since_day: str,
        until_day: str,
        *,
        member: str | None = None,
        department: int | None = None,
    ) -> int:
        c = usage_totals.c
        query = select(func.sum(c.tokens_in + c.tokens_out)).where(
            c.channel == channel, c.day.between(since_day, until_day)
        )
        if member is not None:
            query = query.where(c.member == member)
        if department is not None:
            query = query.where(c.department == department)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar() or 0)


def _key_text(by: str, value: object) -> str:
    if by == "department":
        return "" if value == _UNKNOWN_DEPARTMENT else str(value)
    return str(value)
