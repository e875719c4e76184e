"""A flood of refusals writes one line per kind per interval, with a count of the rest."""

from __future__ import annotations

import logging
import sys

from infrastructure.logging_setup import RepeatedLines


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(msg: str, *args, name: str = "adapters.inbound", key=None) -> logging.LogRecord:
    made = logging.LogRecord(name, logging.WARNING, "f", 1, msg, args, None)
    if key is not None:
        made.repeat_key = key
    return made


def written(lines: RepeatedLines, records) -> list[str]:
    return [r.getMessage() for r in records if lines.filter(r)]


def test_repeated_refusals_are_written_once_per_interval_with_a_count():
    clock = Clock()
    lines = RepeatedLines(interval_seconds=60, clock=clock)
    refusal = "callback from %s refused with 403 (-40001): msg_signature does not match"
    flood = [record(refusal, f"203.0.113.{n % 250}", key=("403", "sig")) for n in range(10_000)]
    assert written(lines, flood) == [refusal % "203.0.113.0"]
    clock.now = 61
    later = written(lines, [record(refusal, "198.51.100.1", key=("403", "sig"))])
    assert later == [f"{refusal % '198.51.100.1'} (and 9999 more like it not written)"]


def test_kinds_are_sampled_apart_and_other_lines_are_never_held_back():
    lines = RepeatedLines(clock=Clock())
    records = [
        record("refused %s", "a", key=("400", "bad xml")),
        record("refused %s", "b", key=("403", "bad signature")),
        record("refused %s", "c", key=("400", "bad xml")),
        record("replied to %s", "msg:1"),
        record("replied to %s", "msg:2"),
        record("Invalid HTTP request received.", name="uvicorn.error"),
        record("Invalid HTTP request received.", name="uvicorn.error"),
    ]
    assert written(lines, records) == [
        "refused a", "refused b", "replied to msg:1", "replied to msg:2",
        "Invalid HTTP request received.",
    ]


def test_the_kinds_tracked_are_bounded():
    lines = RepeatedLines(max_kinds=10, clock=Clock())
    flood = [record("refused %s", n, key=("400", f"reason {n}")) for n in range(1000)]
    assert len(written(lines, flood)) == 10 + 1  # ten kinds, then all others as one


def failed(msg: str, err: Exception, *args) -> logging.LogRecord:
    try:
        raise err
    except Exception:
        made = logging.LogRecord("application.x", logging.ERROR, "f", 1, msg, args, sys.exc_info())
    return made


def test_the_same_failure_again_is_counted_and_its_traceback_written_once():
    clock = Clock()
    lines = RepeatedLines(interval_seconds=60, clock=clock)
    first = failed("sweep failed", ValueError("a bug"))
    assert lines.filter(first) and first.exc_info is not None
    assert not any(lines.filter(failed("sweep failed", ValueError("a bug"))) for _ in range(50))
    clock.now = 61
    again = failed("sweep failed", ValueError("a bug"))
    assert lines.filter(again) and again.exc_info is None
    assert again.getMessage() == (
        "sweep failed (and 50 more like it not written) (traceback written the first time)"
    )


def test_a_store_outage_is_one_line_without_a_traceback():
    lines = RepeatedLines(
        is_outage=lambda err: f"store unavailable: {err}" if isinstance(err, OSError) else None
    )
    outage = failed("could not renew the lease", OSError("connection refused"))
    assert lines.filter(outage) and outage.exc_info is None
    assert outage.getMessage() == (
        "could not renew the lease (store unavailable: connection refused)"
    )


def test_an_outage_told_with_a_percent_sign_still_formats_the_line():
    # The driver's words go into the line after its template: a "%" in them must stay text.
    lines = RepeatedLines(
        is_outage=lambda err: f"store unavailable: {err}" if isinstance(err, OSError) else None
    )
    outage = failed("handling %s failed", OSError("disk 100% full"), "msg-1")
    assert lines.filter(outage)
    assert outage.getMessage() == "handling msg-1 failed (store unavailable: disk 100% full)"
