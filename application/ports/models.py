"""The models a reply may need: chat, pictures, speech, and the audio conversion before it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from domain.usage import Usage


class ChatModelError(Exception):
    """The model did not produce an answer (down, timed out, refused, malformed)."""


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True)
class ImagePart:
    """A picture shown to the model, as a data: URL ("data:image/jpeg;base64,...")."""

    url: str


@dataclass(frozen=True)
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    # Plain text, or parts: text and pictures (OpenAI's content parts).
    content: str | tuple[TextPart | ImagePart, ...]

    @property
    def text(self) -> str:
        """The words of the message, without its pictures."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text for part in self.content if isinstance(part, TextPart))

    @property
    def images(self) -> tuple[ImagePart, ...]:
        if isinstance(self.content, str):
            return ()
        return tuple(part for part in self.content if isinstance(part, ImagePart))


@dataclass(frozen=True)
class ChatAnswer:
    text: str
    # The server's count of the call's tokens; None when it sent none (then we estimate).
    usage: Usage | None = None


class ChatModel(Protocol):
    async def complete(self, messages: Sequence[ChatMessage], max_tokens: int) -> ChatAnswer: ...

    def stream(
        self, messages: Sequence[ChatMessage], max_tokens: int
    ) -> AsyncIterator[str | Usage]:
        """The same answer as it is written: pieces whose concatenation is the answer, then
        the server's Usage when it sends one. Raises ChatModelError before the first piece
        or between pieces."""


class TokenCounter(Protocol):
    def __call__(self, text: str) -> int: ...


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
