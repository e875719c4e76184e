"""Dates and times in the admin API's query strings: `2026-01-31` (a UTC day) or an ISO time
`2026-01-31T08:00:00+08:00` (UTC when it names no zone). A bad one is the caller's mistake,
told in one line (400), never a 500."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from starlette.requests import Request

_MAX_CHARS = 40


class BadDate(ValueError):
    pass


def day_param(request: Request, name: str, default: date) -> date:
    value = request.query_params.get(name) or ""
    if not value:
        return default
    try:
        return date.fromisoformat(value[:_MAX_CHARS])
    except ValueError:
        raise BadDate(f"{name} must be a day such as 2026-01-31") from None


def time_param(request: Request, name: str, default: float) -> float:
    """Epoch seconds; a bare day means its start (00:00 UTC)."""
    value = request.query_params.get(name) or ""
    if not value:
        return default
    try:
        moment = datetime.fromisoformat(value[:_MAX_CHARS])
    except ValueError:
        raise BadDate(
            f"{name} must be a day (2026-01-31) or a time (2026-01-31T08:00:00+08:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def today() -> date:
    return datetime.now(UTC).date()


def days_before(day: date, days: int) -> date:
    return day - timedelta(days=days)
