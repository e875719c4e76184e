"""How far one message has come, rebuilt from its own stream of events."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.events import (
    DeliveryPostponed,
    Event,
    FileRead,
    MessageReceived,
    PictureSeen,
    ReplyComposed,
    ReplyPartSent,
    VoiceTranscribed,
)


class VersionGap(ValueError):
    """A stream that skips or repeats a version is corrupt; never guess past it."""


@dataclass
class MessageProgress:
    version: int = 0
    received: MessageReceived | None = None
    transcript: str | None = None
    # The message's pictures and files, once fetched and read (recorded together).
    seen: list[PictureSeen | FileRead] = field(default_factory=list)
    reply: ReplyComposed | None = None
    sent_parts: set[int] = field(default_factory=set)
    postponements: int = 0
    retry_at: float = 0.0
    settled: bool = False

    @classmethod
    def from_events(cls, events: list[Event]) -> MessageProgress:
        progress = cls()
        for event in events:
            progress.apply(event)
        return progress

    def apply(self, event: Event) -> None:
        if event.version != self.version + 1:
            raise VersionGap(
                f"{event.stream_id}: got version {event.version} after {self.version}"
            )
        self.version = event.version
        if isinstance(event, MessageReceived):
            self.received = event
        elif isinstance(event, VoiceTranscribed):
            self.transcript = event.transcript
        elif isinstance(event, PictureSeen | FileRead):
            self.seen.append(event)
        elif isinstance(event, ReplyComposed):
            self.reply = event
        elif isinstance(event, ReplyPartSent):
            self.sent_parts.add(event.index)
        elif isinstance(event, DeliveryPostponed):
            self.postponements += 1
            self.retry_at = event.retry_at
        if event.settles_message:
            self.settled = True

    def record(self, event_type: type[Event], **fields: object) -> Event:
        """The next event of this message's stream, applied here at once. The caller appends
        what it recorded; if that append conflicts, this progress is stale and is dropped."""
        if self.received is None:
            raise VersionGap("a message stream must start with MessageReceived")
        event = event_type(
            stream_id=self.received.stream_id,
            version=self.version + 1,
            conversation_id=self.received.conversation_id,
            **fields,
        )
        self.apply(event)
        return event

    def unsent_parts(self) -> list[tuple[int, str]]:
        if self.reply is None:
            return []
        return [
            (index, part)
            for index, part in enumerate(self.reply.parts)
            if index not in self.sent_parts
        ]
