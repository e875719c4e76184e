"""PillowPictureReader: a picture a member sent, made ready for a vision model: decoded (JPEG,
PNG, GIF, WebP, BMP; a GIF's first frame), turned upright as the camera meant it, scaled to at
most 2048 pixels on its longer side (vision models scale larger ones down anyway) and
re-encoded as JPEG, or PNG where it has transparency.

Pixel limit: at most 4096 x 4096 (16.8 million) pixels are decoded, the limit of every decode
here (pillow_limits). Pillow's own decompression-bomb guard is set to that number, so it
refuses outright any picture whose header claims more than twice as many (33.5 million),
before reading a pixel; between the two, a JPEG is decoded at 1/2, 1/4 or 1/8 of its size (so
a 30-megapixel photo is still read, cheaply), and anything else is refused from its header.
A picture's decoding thus holds at most about 64 MB (16.8 million RGBA pixels).
"""

from __future__ import annotations

import asyncio
import io

from PIL import Image, ImageOps

from adapters.outbound.pillow_limits import IMAGE_MAX_PIXELS
from application.ports.media import MediaError, Picture
from domain import notices

MAX_SIDE = 2048
_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
_JPEG_QUALITY = 85


class PillowPictureReader:
    async def prepare(self, data: bytes) -> Picture:
        # Decoding and encoding take a while on a large picture: not on the event loop.
        return await asyncio.to_thread(prepare_picture, data)


def prepare_picture(data: bytes) -> Picture:
    try:
        with Image.open(io.BytesIO(data), formats=_FORMATS) as image:
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG only: a reduced decode
            pixels = image.width * image.height
            if pixels > IMAGE_MAX_PIXELS:
                raise _too_many(pixels)
            image.thumbnail((MAX_SIDE, MAX_SIDE))  # decodes; raises on a truncated file
            picture = ImageOps.exif_transpose(image)
            return _encoded(picture)
    except MediaError:
        raise
    except Image.DecompressionBombError:
        raise _too_many(None) from None
    except Exception:
        # Pillow meets crafted files with many kinds of error (OSError, ValueError,
        # SyntaxError, struct.error, ...): each means the same to the member.
        raise MediaError(notices.UNREADABLE, "not a picture Pillow can read") from None


def _encoded(picture: Image.Image) -> Picture:
    out = io.BytesIO()
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        picture.convert("RGBA").save(out, "PNG", optimize=True)
        media_type = "image/png"
    else:
        picture.convert("RGB").save(out, "JPEG", quality=_JPEG_QUALITY)
        media_type = "image/jpeg"
    return Picture(media_type, out.getvalue(), picture.width, picture.height)


def _too_many(pixels: int | None) -> MediaError:
    found = f"{pixels:,} pixels" if pixels else "more pixels than Pillow's guard allows"
    return MediaError(
        notices.TOO_LARGE, f"{found}; at most {IMAGE_MAX_PIXELS:,} are decoded"
    )
