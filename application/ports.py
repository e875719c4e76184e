"""The interfaces the use cases need. Adapters implement them and translate their own
library's errors into the errors declared here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from domain.events import Event


class ConcurrencyConflict(Exception):
    """Another writer appended to the stream first; re-read and decide again."""


@dataclass(frozen=True)
class PendingMessage:
    stream_id: str
    conversation_id: str
    position: int


@dataclass(frozen=True)
class StoreStatistics:
    events_by_type: dict[str, int]
    pending_messages: int


@dataclass(frozen=True)
class ReceivedEntry:
    """A received message as the store's message index lists it, for finding messages by
    conversation, sender or MsgId; its content and fate are in its stream."""

    position: int  # of its MessageReceived: newest-first pages continue before it
    stream_id: str
    conversation_id: str
    from_user: str
    msg_id: str  # "" for events (enter_agent, ...), which have none
    occurred_at: float


class EventStore(Protocol):
    async def append(self, events: Sequence[Event]) -> None:
        """Append events of one stream atomically. Each event's version must be the next one;
        raises ConcurrencyConflict when any (stream_id, version) already exists."""

    async def read_stream(self, stream_id: str) -> list[Event]: ...

    async def memory(
        self, conversation_id: str, before_position: int | None, limit: int
    ) -> list[Event]:
        """Up to `limit` AnswerComposed / MemoryCleared events of the conversation, newest
        first, recorded before `before_position` (the whole past when None)."""

    async def position_of(self, stream_id: str, version: int) -> int: ...

    async def ping(self) -> None:
        """Raises when the store cannot be reached."""

    async def pending(self, conversation_id: str | None = None) -> list[PendingMessage]:
        """Received messages not yet settled, oldest first."""

    async def statistics(self) -> StoreStatistics:
        """How many events of each type are recorded, and how many messages are unsettled."""

    async def received(
        self,
        limit: int,
        *,
        before_position: int | None = None,
        conversation_id: str | None = None,
        from_user: str | None = None,
        msg_id: str | None = None,
    ) -> list[ReceivedEntry]:
        """Up to `limit` received messages, newest first, recorded before `before_position`,
        only those matching every filter given."""

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Event]]:
        """Several streams at once, each in version order; unknown ids are left out."""

    async def delivery_problems(self, limit: int) -> list[Event]:
        """The newest `limit` DeliveryFailed and DeliveryPostponed events, newest first."""


class ChatModelError(Exception):
    """The model did not produce an answer (down, timed out, refused, malformed)."""


@dataclass(frozen=True)
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    content: str


class ChatModel(Protocol):
    async def complete(self, messages: Sequence[ChatMessage], max_tokens: int) -> str: ...

    def stream(self, messages: Sequence[ChatMessage], max_tokens: int) -> AsyncIterator[str]:
        """The same answer as it is written: pieces whose concatenation is the answer.
        Raises ChatModelError before the first piece or between pieces."""


class DeliveryError(Exception):
    """WeCom did not take the message. `permanent` means retrying cannot help."""

    def __init__(self, reason: str, *, errcode: int | None = None, permanent: bool):
        super().__init__(reason)
        self.reason = reason
        self.errcode = errcode
        self.permanent = permanent


class WeComGateway(Protocol):
    """WeCom's API as the use cases need it. Every failure is a DeliveryError."""

    async def send_text(self, to_user: str, content: str) -> str:
        """Send one text message to a member; returns WeCom's msgid."""

    async def send_chat_text(self, chat_id: str, content: str) -> str:
        """Send one text message to a group chat (appchat/send); returns a msgid ("" if none)."""

    async def send_image(self, to_user: str, media_id: str) -> str: ...

    async def send_chat_image(self, chat_id: str, media_id: str) -> str: ...

    async def upload_image(self, data: bytes, filename: str) -> str:
        """media/upload?type=image; returns the media_id (valid three days)."""

    async def download_media(self, media_id: str) -> bytes:
        """media/get: the raw bytes (a voice message is AMR)."""

    async def chat_name(self, chat_id: str) -> str | None:
        """appchat/get's name; None when WeCom does not know the chat."""

    async def member_name(self, user_id: str) -> str | None:
        """user/get's name; None when the member is outside the app's visible range."""

    async def token_status(self) -> TokenStatus:
        """The cached token's state; never calls gettoken."""


@dataclass(frozen=True)
class TokenStatus:
    """The access token as far as this process knows, without asking WeCom for one."""

    valid_until: float | None  # epoch seconds; None when there is no usable token
    last_error: str | None  # why the last fetch failed, if it did


class Telemetry(Protocol):
    """What the service counts and times, for /metrics. Calls are cheap and never fail."""

    def callback_answered(self, outcome: str, seconds: float) -> None: ...

    def model_called(self, outcome: str, seconds: float) -> None: ...

    def wecom_called(self, endpoint: str, errcode: str) -> None: ...

    def pending_messages(self, count: int) -> None: ...


class AiBotResponseUrl(Protocol):
    """The AI bot's way to answer after its stream has closed: one markdown message through
    the callback's response_url, within an hour of the message. Failures are DeliveryErrors."""

    async def post_markdown(self, response_url: str, content: str) -> None: ...


class ImageModelError(Exception):
    """No image came back (down, refused, timed out, unusable answer)."""


class ImageModel(Protocol):
    async def generate(self, prompt: str) -> bytes:
        """A PNG or JPEG image drawn for `prompt`."""


class SpeechError(Exception):
    """No transcript came back, or the audio could not be converted."""


class SpeechToText(Protocol):
    async def transcribe(self, audio: bytes, filename: str) -> str:
        """The text spoken in `audio` (a format named by `filename`'s extension)."""


class AudioConverter(Protocol):
    async def amr_to_wav(self, amr: bytes) -> bytes:
        """WeCom voice (AMR-NB, 8 kHz) as WAV, which speech-to-text servers accept.
        Raises SpeechError when it cannot."""


@dataclass(frozen=True)
class CachedToken:
    value: str
    expires_at: float  # epoch seconds from which it is renewed, ahead of WeCom's expiry


class AccessTokenCache(Protocol):
    """Where the WeCom access token is kept, so restarts and other processes reuse it."""

    async def get(self, key: str) -> CachedToken | None: ...

    async def put(self, key: str, token: CachedToken) -> None: ...

    async def invalidate(self, key: str, value: str) -> None:
        """Forget the token, but only if it is still `value` (another process may have
        already replaced it with a fresh one)."""


class LeaseStore(Protocol):
    """Named, expiring locks shared by every process on the database: a conversation, or the
    access-token fetch, is worked on by one owner at a time, and an owner that dies lets go
    when its lease runs out."""

    async def acquire(self, name: str, owner: str, seconds: float) -> bool:
        """Take the lease, or extend it if `owner` holds it already; False if someone else
        holds an unexpired one."""

    async def release(self, name: str, owner: str) -> None: ...


class TokenCounter(Protocol):
    def __call__(self, text: str) -> int: ...


class WorkNotifier(Protocol):
    def notify(self, conversation_id: str) -> None:
        """A conversation has new work; whoever processes it should look."""


__all__ = [
    "AiBotResponseUrl",
    "Telemetry",
    "TokenStatus",
    "AudioConverter",
    "ImageModel",
    "ImageModelError",
    "SpeechError",
    "SpeechToText",
    "LeaseStore",
    "AccessTokenCache",
    "CachedToken",
    "ChatMessage",
    "ChatModel",
    "ChatModelError",
    "ConcurrencyConflict",
    "DeliveryError",
    "EventStore",
    "PendingMessage",
    "ReceivedEntry",
    "StoreStatistics",
    "TokenCounter",
    "WeComGateway",
    "WorkNotifier",
]
