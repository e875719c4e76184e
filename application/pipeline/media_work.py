"""The slow helpers of a reply that are not the chat model: hearing a voice message and
drawing a picture. Each failure comes out as the port's error, for a plain-words notice."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

from application.ports.models import (
    AudioConverter,
    ImageModel,
    ImageModelError,
    SpeechError,
    SpeechToText,
)
from application.ports.wecom import DeliveryError, WeComGateway


@dataclass(frozen=True)
class Transcript:
    text: str
    audio_seconds: float  # what was heard, which speech servers charge by


class TranscribeVoice:
    def __init__(self, gateway: WeComGateway, converter: AudioConverter, speech: SpeechToText):
        self._gateway = gateway
        self._converter = converter
        self._speech = speech

    async def __call__(self, media_id: str) -> Transcript:
        try:
            amr = await self._gateway.download_media(media_id)
        except DeliveryError as err:
            raise SpeechError(f"could not fetch the voice message: {err.reason}") from None
        wav = await self._converter.amr_to_wav(amr)
        return Transcript(await self._speech.transcribe(wav, "voice.wav"), _seconds(wav))


def _seconds(wav: bytes) -> float:
    # Only counted for the bill: a WAV whose header cannot be read must not cost the answer.
    try:
        with wave.open(io.BytesIO(wav)) as sound:
            return sound.getnframes() / sound.getframerate()
    except (wave.Error, EOFError, ZeroDivisionError):
        return 0.0


class DrawPicture:
    def __init__(self, images: ImageModel, gateway: WeComGateway):
        self._images = images
        self._gateway = gateway

    async def __call__(self, prompt: str) -> str:
        """Draws and uploads; returns the WeCom media_id to send."""
        image = await self._images.generate(prompt)
        try:
            return await self._gateway.upload_image(image, "picture.png")
        except DeliveryError as err:
            raise ImageModelError(f"could not upload the picture: {err.reason}") from None
