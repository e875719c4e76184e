"""Removing what members said and what they were answered from recorded events, for
retention and erasure, while keeping every fact about the message: that it was received,
from whom, how it was answered, in how many parts, and what it cost.

An event log is meant to be append-only; this is the one exception, made on purpose: privacy
law and company policy outrank immutability. The event keeps its type, version and time;
its text fields become empty.
"""

from __future__ import annotations

import dataclasses

from domain.events import (
    AnswerComposed,
    Event,
    FeedbackGiven,
    FileRead,
    ImageComposed,
    MessageReceived,
    NoticeComposed,
    PictureSeen,
    VoiceTranscribed,
)

# The types whose events hold what someone wrote, sent or was told.
CONTENT_EVENT_TYPES = (
    "MessageReceived", "VoiceTranscribed", "AnswerComposed", "NoticeComposed", "ImageComposed",
    "FeedbackGiven", "PictureSeen", "FileRead",
)


def without_content(event: Event) -> Event | None:
    """The event with its content removed; None when it holds none (or none is left)."""
    if isinstance(event, MessageReceived):
        message = event.message
        if not (message.content or message.response_url or message.quote or message.attachments):
            return None
        # response_url is a credential of its own; after the retention period it is useless.
        # So are a picture's or file's download URL and key; the quote is what someone wrote.
        message = dataclasses.replace(
            message, content="", response_url="", quote="", attachments=()
        )
        return dataclasses.replace(event, message=message)
    if isinstance(event, PictureSeen):
        # The digest names the picture kept in the blob store, which goes with it.
        return dataclasses.replace(event, digest="") if event.digest else None
    if isinstance(event, FileRead):
        if not (event.text or event.name):
            return None
        return dataclasses.replace(event, name="", text="")
    if isinstance(event, VoiceTranscribed):
        return dataclasses.replace(event, transcript="") if event.transcript else None
    if isinstance(event, AnswerComposed):
        if content_removed(event):
            return None
        emptied = ("",) * len(event.parts)
        return dataclasses.replace(event, text="", parts=emptied, prompt="", answer="")
    if isinstance(event, ImageComposed):
        # Its one part is WeCom's media_id, not content: kept, so delivery can be followed.
        return dataclasses.replace(event, prompt="") if event.prompt else None
    if isinstance(event, NoticeComposed):
        if not event.text:
            return None
        return dataclasses.replace(event, text="", parts=("",) * len(event.parts))
    if isinstance(event, FeedbackGiven):
        # The rating is a fact and stays; what the member wrote with a 👎 goes.
        return dataclasses.replace(event, comment="") if event.comment else None
    return None


def content_removed(answer: AnswerComposed) -> bool:
    """An answer is never recorded empty (an empty answer is a notice), so an empty one has
    had its content removed: memory ends there."""
    return not answer.answer
