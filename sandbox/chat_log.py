"""What the members of the sample corp see: every message in every chat, in the order WeCom
would show it, as "bubbles". A bubble's status changes as the service answers (or does not),
so each change takes a new revision and the page asks only for what changed since it last
looked. Everything runs on one event loop, so no locks."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

# Member messages: handed to the service, then as the operator API tells.
DELIVERING, WAITING, UNDELIVERED = "delivering", "waiting", "undelivered"
# A sandbox is tried for minutes, not months: beyond this the oldest bubbles are forgotten.
MAX_BUBBLES = 5000


def private_chat(channel: str, user_id: str) -> str:
    """A member's private chat with one app or bot (the channel, as the service names it)."""
    return f"{channel}/private:{user_id}"


def group_chat(channel: str, chat_id: str) -> str:
    """A group chat as one app or bot takes part in it: each has its own conversation."""
    return f"{channel}/group:{chat_id}"


def channel_of(conversation: str) -> str:
    return conversation.partition("/")[0]


@dataclass
class Bubble:
    id: int
    conversation: str
    sender: str  # the member's UserID, or "" for the app or bot of the conversation
    kind: str  # "text", "image" or "voice"
    text: str = ""
    media_id: str = ""
    msg_id: str = ""  # set for a member's message: the MsgId of its callback
    status: str = ""  # set for a member's message: DELIVERING, WAITING, … or the outcome's
    note: str = ""  # why it was not answered, or what went wrong
    reply: str = ""  # set once answered: "answer", "notice" or "image"
    at: float = 0.0
    revision: int = 0

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class ChatLog:
    def __init__(self) -> None:
        self._bubbles: dict[int, Bubble] = {}
        self._revision = 0

    def add(
        self, conversation: str, sender: str, kind: str, at: float | None = None, **fields: Any
    ) -> Bubble:
        """`at`: when it was said, if not now (a message remembered from an earlier run)."""
        self._revision += 1
        bubble = Bubble(
            self._revision, conversation, sender, kind, at=at or time.time(),
            revision=self._revision, **fields,
        )
        self._bubbles[bubble.id] = bubble
        if len(self._bubbles) > MAX_BUBBLES:
            del self._bubbles[next(iter(self._bubbles))]
        return bubble

    def update(self, bubble: Bubble, **fields: Any) -> None:
        changed = {name: value for name, value in fields.items() if getattr(bubble, name) != value}
        if not changed:
            return
        self._revision += 1
        for name, value in changed.items():
            setattr(bubble, name, value)
        bubble.revision = self._revision

    def changed_since(self, revision: int) -> tuple[int, list[Bubble]]:
        """The current revision, and the bubbles added or changed after `revision`."""
        changed = [b for b in self._bubbles.values() if b.revision > revision]
        return self._revision, sorted(changed, key=lambda b: b.id)

    def from_app(self, conversation: str) -> list[Bubble]:
        """What the app said in `conversation`, oldest first."""
        said = self._bubbles.values()
        return [b for b in said if b.conversation == conversation and not b.sender]
