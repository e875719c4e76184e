"""The speech port when no speech-to-text server is configured (speech.provider "none"):
a voice message then gets the plain "voice is not working" reply instead of silence."""

from __future__ import annotations

from application.ports.models import SpeechError


class NoSpeechToText:
    async def transcribe(self, audio: bytes, filename: str) -> str:
        raise SpeechError("no speech-to-text service is configured (speech.provider is none)")
