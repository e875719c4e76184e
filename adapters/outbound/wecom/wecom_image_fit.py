"""Making an image fit what WeCom's media/upload takes: JPG or PNG, more than 5 bytes, at most
10 MB. An image model may answer WebP, or a PNG too large to send; rather than let WeCom refuse
it after the upload, it is converted, and re-encoded smaller (JPEG, lower quality, then scaled
down) until it fits, or refused in plain words when even a small version does not."""

from __future__ import annotations

import io
import re
from pathlib import PurePosixPath

from PIL import Image

from adapters.outbound.pillow_limits import IMAGE_MAX_PIXELS, too_many_pixels
from application.ports.wecom import DeliveryError

# WeCom says "10 MB"; the decimal reading is the one that cannot be too large.
IMAGE_MAX_BYTES = 10 * 1000 * 1000
IMAGE_MIN_BYTES = 6

_SENDABLE = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png")}
_QUALITIES = (85, 70, 55, 40)
_SHRINK = 0.7
# Below this an image shows nothing worth sending.
_MIN_SIDE = 64


def fit_image(data: bytes, filename: str, limit: int = IMAGE_MAX_BYTES) -> tuple[bytes, str, str]:
    """(image bytes, filename, content type) WeCom will take; DeliveryError when impossible."""
    if len(data) < IMAGE_MIN_BYTES:
        raise _refused(f"the image is empty ({len(data)} bytes)")
    too_large = _refused(f"the image has more than {IMAGE_MAX_PIXELS:,} pixels")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if too_many_pixels(image):
                raise too_large
            # Decoded in full even when sent as it is: a truncated image would reach the
            # member as a broken picture.
            image.load()
            if image.format in _SENDABLE and len(data) <= limit:
                return _named(data, filename, image.format)
            fitted, fmt = _reencoded(image, limit)
    except Image.DecompressionBombError:
        raise too_large from None
    except (OSError, ValueError, SyntaxError):
        raise _refused("it is not an image weworktop can read (JPG or PNG expected)") from None
    return _named(fitted, filename, fmt)


def _reencoded(image: Image.Image, limit: int) -> tuple[bytes, str]:
    if image.format not in _SENDABLE:
        # Lossless first: a small WebP or GIF stays as sharp as it was.
        png = _encoded(image, "PNG")
        if len(png) <= limit:
            return png, "PNG"
    picture = _flattened(image)
    while True:
        for quality in _QUALITIES:
            jpeg = _encoded(picture, "JPEG", quality=quality)
            if len(jpeg) <= limit:
                return jpeg, "JPEG"
        width, height = picture.size
        if min(width, height) * _SHRINK < _MIN_SIDE:
            raise _refused(f"it stays over {limit:,} bytes even as a small JPEG")
        size = (int(width * _SHRINK), int(height * _SHRINK))
        picture = picture.resize(size, Image.Resampling.LANCZOS)


def _flattened(image: Image.Image) -> Image.Image:
    """RGB for JPEG, with transparency shown on white rather than black."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _encoded(image: Image.Image, fmt: str, **options: int) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _named(data: bytes, filename: str, fmt: str) -> tuple[bytes, str, str]:
    # WeCom reads the type from the file name's extension, and a plain ASCII name travels
    # safely in a multipart header.
    extension, content_type = _SENDABLE[fmt]
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", PurePosixPath(filename).stem)[:64] or "image"
    return data, f"{stem}.{extension}", content_type


def _refused(why: str) -> DeliveryError:
    return DeliveryError(f"the image cannot be sent through WeCom: {why}", permanent=True)
