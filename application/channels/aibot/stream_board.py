"""The AI bot's streams: what each shows while the model is still writing it.

WeCom asks for a stream's content with a refresh callback every second or so and waits only
briefly for each answer, so the model writes in the background (a worker, like any answer)
and a refresh reads what is on this board. The board lives in this process's memory: a
refresh that reaches another process finds no text in progress there and is answered from
the event store, where the final answer is recorded like any other (see RefreshStream).

`StreamBoard.view` and `StreamBoard.views` are read-only snapshots, for the operator's view
and the sandbox to show streams as they grow.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

# A response_url takes one message within an hour of the message it answers (WECOM.md).
RESPONSE_URL_SECONDS = 3600.0
# A refresh hands over the final answer only this long before the stream's deadline; later,
# the answer goes through response_url. The gap keeps the two from both delivering it.
HANDOVER_MARGIN_SECONDS = 5.0


@dataclass(frozen=True)
class StreamTiming:
    """How long a stream stays open, counted from when its message was received. WeCom stops
    refreshing after about six minutes; closing ours earlier lets it end with a note that the
    answer will follow, instead of just stopping."""

    stream_seconds: float = 300.0

    def deadline(self, received_at: float) -> float:
        return received_at + self.stream_seconds


@dataclass(frozen=True)
class StreamReply:
    """A passive reply that opens or refreshes a stream: WeCom shows `content` in place of the
    stream's previous content, and stops asking once `finish` is true."""

    stream_id: str
    content: str
    finish: bool


@dataclass(frozen=True)
class StreamView:
    stream_id: str
    message_key: str  # the message's stream in the event store
    content: str  # what a refresh shows now
    writing: bool  # the model is still writing; once False, the store has the last word
    deadline: float  # epoch seconds; after it the stream closes and the answer comes late
    updated_at: float


class StreamBoard:
    """Streams in progress in this process, newest last. Finished streams are forgotten after
    `keep_seconds`, and beyond `max_streams` the oldest go first, so memory stays bounded."""

    def __init__(
        self,
        max_streams: int = 4096,
        keep_seconds: float = 600.0,
        clock: Callable[[], float] = time.time,
    ):
        self._max = max_streams
        self._keep = keep_seconds
        self._clock = clock
        self._streams: dict[str, StreamView] = {}

    def start(self, stream_id: str, message_key: str, deadline: float) -> None:
        """The model starts writing (again, after a restart or a failed attempt: from empty)."""
        now = self._clock()
        self._forget_old(now)
        self._streams.pop(stream_id, None)
        self._streams[stream_id] = StreamView(stream_id, message_key, "", True, deadline, now)

    def write(self, stream_id: str, content: str) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            self._streams[stream_id] = replace(stream, content=content, updated_at=self._clock())

    def stop(self, stream_id: str) -> None:
        """The model has stopped writing, with an answer or without one."""
        stream = self._streams.get(stream_id)
        if stream is not None:
            self._streams[stream_id] = replace(stream, writing=False, updated_at=self._clock())

    def view(self, stream_id: str) -> StreamView | None:
        return self._streams.get(stream_id)

    def views(self) -> list[StreamView]:
        """Every stream this process knows, newest first."""
        return list(reversed(self._streams.values()))

    def _forget_old(self, now: float) -> None:
        done = [
            stream_id
            for stream_id, stream in self._streams.items()
            if not stream.writing and stream.updated_at < now - self._keep
        ]
        for stream_id in done:
            del self._streams[stream_id]
        while len(self._streams) >= self._max:
            del self._streams[next(iter(self._streams))]
