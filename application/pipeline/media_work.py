"""The slow helpers of a reply that are not the chat model: hearing a voice message and
drawing a picture. Each failure comes out as the port's error, for a plain-words notice."""

from __future__ import annotations

from application.ports.models import (
    AudioConverter,
    ImageModel,
    ImageModelError,
    SpeechError,
    SpeechToText,
)
from application.ports.wecom import DeliveryError, WeComGateway


class TranscribeVoice:
    def __init__(self, gateway: WeComGateway, converter: AudioConverter, speech: SpeechToText):
        self._gateway = gateway
        self._converter = converter
        self._speech = speech

    async def __call__(self, media_id: str) -> str:
        try:
            amr = await self._gateway.download_media(media_id)
        except DeliveryError as err:
            raise SpeechError(f"could not fetch the voice message: {err.reason}") from None
        wav = await self._converter.amr_to_wav(amr)
        return await self._speech.transcribe(wav, "voice.wav")


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
