"""A channel: one configured way in (a self-built app, an AI bot), and what differs by its kind.

Everything a message goes through after intake is shared (HandleMessage, memory, the store);
what differs between kinds of channel lives in one object per configured channel, picked by
the message's `channel`: how it decides (an app's prefixes or a bot's @-mention), how it asks
(plain or streamed), how it renders and addresses an answer, how it splits and delivers it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from application.pipeline.ask_with_memory import Attached
from application.pipeline.media_work import Transcript
from application.pipeline.postponed import Postponed
from application.pipeline.sender_rate_limiter import SenderRateLimiter
from application.ports.media import Fetched
from application.ports.models import ChatAnswer
from domain.access import AccessRule
from domain.events import MessageReceived
from domain.message_progress import MessageProgress
from domain.messages import Attachment, InboundMessage
from domain.policy import ChatRules, Decision
from domain.quota import Quota


class Channel(Protocol):
    name: str  # "<kind>:<name>", as messages carry it
    rules: ChatRules
    access: AccessRule
    quota: Quota
    rate_limiter: SenderRateLimiter

    async def departments(self, user: str) -> tuple[int, ...] | None:
        """The member's departments, the main one first; None when they cannot be known."""

    async def decide(self, message: InboundMessage, said: str | None) -> Decision:
        """The rules' decision; `said` is a voice message's transcript once there is one."""

    async def ask(
        self, received: MessageReceived, prompt: str, attached: Attached
    ) -> ChatAnswer:
        """The model's answer as it will be shown, to `prompt` with what is `attached` to it
        (pictures, files' text), and its cost; raises ChatModelError when there is none."""

    async def fetch(self, attachment: Attachment, limit: int) -> Fetched:
        """A picture's or file's bytes, at most `limit` of them, from wherever this kind of
        channel gets them; raises MediaError."""

    def render(self, answer: str) -> str:
        """The answer in the form this channel's client shows (plain text or markdown)."""

    async def address(self, message: InboundMessage, text: str) -> str:
        """The reply as sent, e.g. naming the asker in a group."""

    def split(self, text: str) -> tuple[str, ...]:
        """The parts the reply is delivered in."""

    async def transcribe(self, media_id: str) -> Transcript:
        """A voice message's words; raises SpeechError."""

    async def draw(self, prompt: str) -> str:
        """A picture drawn and uploaded; its media id. Raises ImageModelError."""

    async def deliver(self, progress: MessageProgress) -> Postponed | None:
        """Sends what is composed and not yet sent; Postponed when it has to wait."""


class UnknownChannel(LookupError):
    """A recorded message names a channel that is no longer configured."""


class Channels:
    """Every configured channel, by the name its messages carry."""

    def __init__(self, channels: Iterable[Channel]):
        self._by_name = {channel.name: channel for channel in channels}

    def __getitem__(self, name: str) -> Channel:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownChannel(name) from None

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)
