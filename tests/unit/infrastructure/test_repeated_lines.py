"""A flood of refusals writes one line per kind per interval, with a count of the rest."""

from __future__ import annotations

import logging

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
