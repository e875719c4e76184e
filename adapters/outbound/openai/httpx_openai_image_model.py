"""The ImageModel port over an OpenAI-compatible images API (OpenAI's gpt-image and DALL-E,
and servers that copy its /images/generations endpoint). Servers answer either the image
itself (`b64_json`) or a URL to fetch it from; both are taken, and what comes back is checked
to be an image, so a member never receives an error page as a picture."""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
from typing import Any

import httpx
from PIL import Image

from adapters.outbound.openai.openai_compatible_http import OpenAICompatibleHttp
from adapters.outbound.pillow_limits import IMAGE_MAX_PIXELS, too_many_pixels
from application.ports.models import ImageModelError

# A large PNG is a few MB; base64 adds a third. Past these, the answer is not an image.
IMAGE_MAX_BYTES = 20 * 1024 * 1024
_ANSWER_MAX_BYTES = IMAGE_MAX_BYTES * 4 // 3 + 64 * 1024

_SERVER = "image server"


class HttpxOpenAIImageModel:
    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str | None,
        model: str,
        size: str | None = "1024x1024",
        *,
        retry_attempts: int = 3,
        retry_initial_wait: float = 1.0,
        retry_max_wait: float = 10.0,
    ):
        """`client`'s timeout bounds each attempt; drawing takes tens of seconds, so give it
        a minute or more. `size` None leaves the size to the server."""
        self._model = model
        self._size = size
        self._http = OpenAICompatibleHttp(
            client,
            base_url,
            api_key,
            error=ImageModelError,
            server=_SERVER,
            retry_attempts=retry_attempts,
            retry_initial_wait=retry_initial_wait,
            retry_max_wait=retry_max_wait,
        )

    async def generate(self, prompt: str) -> bytes:
        request: dict[str, Any] = {"model": self._model, "prompt": prompt, "n": 1}
        if self._size:
            request["size"] = self._size
        answer = await self._http.post("/images/generations", _ANSWER_MAX_BYTES, json=request)
        data = answer.get("data")
        first = data[0] if isinstance(data, list) and data else None
        if not isinstance(first, dict):
            raise ImageModelError(f"{_SERVER} answered without an image")
        if isinstance(first.get("b64_json"), str):
            image = _decoded(first["b64_json"])
        elif isinstance(first.get("url"), str):
            image = await self._http.download(first["url"], IMAGE_MAX_BYTES)
        else:
            raise ImageModelError(f"{_SERVER} answered neither b64_json nor url")
        # Decoding a large image takes a while: not on the event loop.
        return await asyncio.to_thread(_png_or_jpeg, image)


def _decoded(b64: str) -> bytes:
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ImageModelError(f"{_SERVER} answered b64_json that is not base64") from None


def _png_or_jpeg(data: bytes) -> bytes:
    """The image as it came if PNG or JPEG, else (WebP, say) as PNG, as the port promises."""
    too_large = ImageModelError(f"{_SERVER} answered an image over {IMAGE_MAX_PIXELS:,} pixels")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if too_many_pixels(image):
                raise too_large
            image.load()
            if image.format in ("PNG", "JPEG"):
                return data
            out = io.BytesIO()
            image.save(out, "PNG")
            return out.getvalue()
    except ImageModelError:
        raise
    except Image.DecompressionBombError:
        raise too_large from None
    except Exception:
        # Pillow's decoders meet crafted files with many kinds of error (OSError, ValueError,
        # struct.error, ...): each means the same to the member.
        raise ImageModelError(f"{_SERVER} answered something that is not an image") from None
