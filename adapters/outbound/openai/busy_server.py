"""A model server that says it is busy (429): how long it asked us to wait, and when to stop
waiting.

Such answers usually say when to come back (`Retry-After`, or OpenAI's `retry-after-ms`): that
wait is honoured, and it does not use up the attempts meant for failures, only a patience of
its own, so a busy server slows members' answers down instead of failing them.
"""

from __future__ import annotations

import email.utils
import time

import httpx
from tenacity import RetryCallState


class BusyPatience:
    """When one call stops retrying: after `attempts` failures, not counting the busy answers
    that said when to come back; those stop only when waiting as told would pass
    `busy_seconds` since the first attempt. The failure's `retry_after` (seconds, or None)
    tells the two apart."""

    def __init__(self, attempts: int, busy_seconds: float):
        self._attempts = attempts
        self._busy_seconds = busy_seconds
        self._failures = 0

    def __call__(self, state: RetryCallState) -> bool:
        retry_after = asked_wait(state)
        if retry_after is not None:
            return (state.seconds_since_start or 0.0) + retry_after > self._busy_seconds
        self._failures += 1
        return self._failures >= self._attempts


def asked_wait(state: RetryCallState) -> float | None:
    """The wait the last attempt's failure carries from a busy server, if any."""
    error = state.outcome.exception() if state.outcome else None
    return getattr(error, "retry_after", None)


def retry_after(headers: httpx.Headers) -> float | None:
    """The wait a busy server asked for, in seconds: OpenAI's `retry-after-ms`, else the
    standard `Retry-After` (seconds, or an HTTP date); None when it said nothing usable."""
    try:
        if "retry-after-ms" in headers:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
    except (ValueError, TypeError):
        return None
    return max(0.0, when.timestamp() - time.time())
