"""The facts the service records about each message, in the order they happen.

Every message has its own stream (named by its dedup key): `MessageReceived` is always
version 1, so the store's unique (stream_id, version) constraint is also the dedup guard.
Each event also names its conversation, which is how memory is read across messages.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import ClassVar

from domain.messages import InboundMessage
from domain.usage import Usage


@dataclass(frozen=True, kw_only=True)
class Event:
    stream_id: str
    version: int
    conversation_id: str
    occurred_at: float = field(default_factory=time.time)
    schema_version: ClassVar[int] = 1
    # True for the events after which nothing more happens to the message.
    settles_message: ClassVar[bool] = False


@dataclass(frozen=True, kw_only=True)
class MessageReceived(Event):
    message: InboundMessage


@dataclass(frozen=True, kw_only=True)
class MessageIgnored(Event):
    reason: str
    settles_message: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class MemoryCleared(Event):
    """The member asked to forget: memory reads stop at this event."""


@dataclass(frozen=True, kw_only=True)
class VoiceTranscribed(Event):
    """What a voice message said; it is then handled as if it had been typed."""

    transcript: str


@dataclass(frozen=True, kw_only=True)
class ModelUsed(Event):
    """What handling the message cost (a chat answer, a picture, a transcript), recorded in
    the batch of the event it paid for and added to the usage totals in that transaction.
    It holds no content: retention and erasure leave it, and so the totals, as they are."""

    channel: str
    member: str
    department: int | None  # the member's main department; None when unknown (AI bots)
    usage: Usage


@dataclass(frozen=True, kw_only=True)
class PictureSeen(Event):
    """A picture of the message, fetched and made ready for the model. Its bytes are kept
    in the blob store under `digest` (never in an event), so that a follow-up question can
    show it to the model again."""

    digest: str
    media_type: str
    width: int
    height: int
    quoted: bool = False


@dataclass(frozen=True, kw_only=True)
class FileRead(Event):
    """A file of the message, fetched and read: its text (cut to what a prompt can hold,
    with a note saying how much was left out) and the hash of the file, never its bytes."""

    name: str
    sha256: str
    size: int
    text: str
    quoted: bool = False


@dataclass(frozen=True, kw_only=True)
class ReplyComposed(Event):
    """A reply ready to deliver, to `to_chat` when set (a group), else to `to_user`.
    Each of `parts` is one WeCom message."""

    to_user: str
    text: str
    parts: tuple[str, ...]
    to_chat: str = ""


@dataclass(frozen=True, kw_only=True)
class AnswerComposed(ReplyComposed):
    """The model's answer to `prompt`: this pair becomes part of the conversation's memory.
    `answer` is the model's own text; `text` is what members see (flattened, prefixed)."""

    prompt: str
    answer: str


@dataclass(frozen=True, kw_only=True)
class NoticeComposed(ReplyComposed):
    """A fixed reply from the service itself (help, too long, model down); not remembered."""

    reason: str


@dataclass(frozen=True, kw_only=True)
class ImageComposed(ReplyComposed):
    """A picture drawn for `prompt` and uploaded to WeCom: its one part is the media_id."""

    prompt: str


@dataclass(frozen=True, kw_only=True)
class ReplyPartSent(Event):
    index: int
    wecom_msg_id: str = ""


@dataclass(frozen=True, kw_only=True)
class DeliveryPostponed(Event):
    """WeCom was unreachable or busy for part `index`; it is tried again at `retry_at`."""

    index: int
    reason: str
    retry_at: float
    # WeCom's errcode when WeCom answered one (None: unreachable, HTTP error), for counting.
    errcode: int | None = None


@dataclass(frozen=True, kw_only=True)
class ReplyDelivered(Event):
    settles_message: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class DeliveryFailed(Event):
    index: int
    reason: str
    errcode: int | None = None
    settles_message: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class MemberErased(Event):
    """An operator had one member's content removed now (what they wrote and what they were
    answered), as `requested_by` said; the facts and the usage totals stay."""

    member: str
    requested_by: str
    messages: int  # how many of the member's messages had content removed


@dataclass(frozen=True, kw_only=True)
class AnnouncementRequested(Event):
    """A message the company sends first (POST /admin/api/send), version 1 of the stream its
    idempotency key names: the store's unique (stream, version) makes a retried request find
    this one instead of sending again. Each of `parts` is one WeCom message."""

    channel: str
    to_users: tuple[str, ...]
    to_departments: tuple[int, ...]
    to_tags: tuple[int, ...]
    msgtype: str  # "text" or "markdown"
    content: str
    parts: tuple[str, ...]
    requested_from: str  # the client address of the request


@dataclass(frozen=True, kw_only=True)
class AnnouncementPartSent(Event):
    """WeCom took part `index`; the recipients it could not reach, as it reported them."""

    index: int
    wecom_msg_id: str
    invalid_users: tuple[str, ...] = ()
    invalid_departments: tuple[int, ...] = ()
    invalid_tags: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AnnouncementSent(Event):
    """Every part was taken."""


@dataclass(frozen=True, kw_only=True)
class AnnouncementFailed(Event):
    """Part `index` was not taken, and the parts after it were not sent."""

    index: int
    reason: str
    errcode: int | None = None


@dataclass(frozen=True, kw_only=True)
class FeedbackGiven(Event):
    """A member rated the answer to this message (the AI bot's 👍/👎): `rating` is "good",
    "bad" or "withdrawn"; a "bad" one may say why (`comment`, WeCom's `reasons` codes).
    `wecom_msg_id` names WeCom's feedback event, so a redelivered one is recorded once."""

    from_user: str
    rating: str
    comment: str = ""
    reasons: tuple[int, ...] = ()
    wecom_msg_id: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        MessageReceived,
        MessageIgnored,
        MemoryCleared,
        VoiceTranscribed,
        ModelUsed,
        PictureSeen,
        FileRead,
        AnswerComposed,
        NoticeComposed,
        ImageComposed,
        ReplyPartSent,
        DeliveryPostponed,
        ReplyDelivered,
        DeliveryFailed,
        MemberErased,
        AnnouncementRequested,
        AnnouncementPartSent,
        AnnouncementSent,
        AnnouncementFailed,
        FeedbackGiven,
    )
}

# What a memory read looks at: remembered turns, what the model saw with them (pictures, files),
# and the point where memory was cleared.
MEMORY_EVENT_TYPES = ("AnswerComposed", "MemoryCleared", "PictureSeen", "FileRead")


def first_version_of_batch(batch: list[Event] | tuple[Event, ...]) -> int:
    """A batch to append must be consecutive versions of one stream; returns the first."""
    first = batch[0].version
    if [(e.stream_id, e.version) for e in batch] != [
        (batch[0].stream_id, first + i) for i in range(len(batch))
    ]:
        raise ValueError("an append takes consecutive versions of a single stream")
    return first
