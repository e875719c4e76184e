"""What the models cost: tokens in and out of each chat call (the server's count when it sends
one, else our estimate, marked as such), pictures drawn and seconds of audio heard, and the
estimated price of it all.

Use is counted by UTC day (a day's quota resets at 00:00 UTC, 08:00 in China), which every
instance and database agree on whatever their local time zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.tokens import MESSAGE_OVERHEAD_TOKENS


@dataclass(frozen=True)
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    estimated: bool = False  # True: counted by our estimate, the server sent no count
    pictures: int = 0
    audio_seconds: float = 0.0

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


def estimated_usage(
    sent: Iterable[str], answer: str, count_tokens: Callable[[str], int]
) -> Usage:
    """Our count of a chat call the server did not count: what was sent, with each message's
    framing, and the answer."""
    tokens_in = sum(count_tokens(text) + MESSAGE_OVERHEAD_TOKENS for text in sent)
    return Usage(tokens_in=tokens_in, tokens_out=count_tokens(answer), estimated=True)


@dataclass(frozen=True)
class Price:
    """`llm.price`: what the model server charges, in whatever currency the operator uses."""

    input_per_1k: float = 0.0
    output_per_1k: float = 0.0
    per_picture: float = 0.0
    per_audio_minute: float = 0.0

    def cost(self, tokens_in: int, tokens_out: int, pictures: int, audio_seconds: float) -> float:
        return (
            tokens_in / 1000 * self.input_per_1k
            + tokens_out / 1000 * self.output_per_1k
            + pictures * self.per_picture
            + audio_seconds / 60 * self.per_audio_minute
        )


def usage_day(timestamp: float) -> str:
    """The UTC day of `timestamp` as YYYY-MM-DD, the key of the usage totals."""
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()


def month_of(day: str) -> tuple[str, str]:
    """The first and the last day of the month `day` is in."""
    first = datetime.fromisoformat(day).date().replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first.isoformat(), (following - timedelta(days=1)).isoformat()


def next_day_start(day: str) -> float:
    """When the UTC day after `day` begins (epoch seconds)."""
    start = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(days=1)
    return start.timestamp()
