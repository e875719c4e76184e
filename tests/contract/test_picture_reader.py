"""PillowPictureReader with real pictures: what the model is shown (format, size, the right
way up), and what is refused (not a picture, truncated, too many pixels) in bounded time and
memory, measured in a process of its own."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from adapters.outbound.media.pillow_picture_reader import (
    MAX_SIDE,
    PillowPictureReader,
    prepare_picture,
)
from adapters.outbound.pillow_limits import IMAGE_MAX_PIXELS
from application.ports.media import MediaError
from domain import notices
from tests.support.images import picture, png_claiming
from tests.support.peak import measured


def size_and_type(data: bytes) -> tuple[int, int, str]:
    prepared = prepare_picture(data)
    return prepared.width, prepared.height, prepared.media_type


@pytest.fixture
def reader():
    return PillowPictureReader()


async def test_a_photo_is_shown_as_jpeg_and_a_transparent_picture_as_png(reader):
    photo = await reader.prepare(picture((640, 480), fmt="JPEG"))
    sticker = await reader.prepare(picture((64, 64), (0, 0, 0, 0), mode="RGBA"))
    assert (photo.media_type, photo.width, photo.height) == ("image/jpeg", 640, 480)
    assert Image.open(io.BytesIO(photo.data)).format == "JPEG"
    assert sticker.media_type == "image/png"


async def test_a_large_picture_is_scaled_to_2048_on_its_longer_side(reader):
    prepared = await reader.prepare(picture((4000, 1000)))
    assert (prepared.width, prepared.height) == (MAX_SIDE, 512)


async def test_a_phone_photo_is_turned_the_way_the_camera_meant(reader):
    sideways = Image.new("RGB", (300, 200), (200, 30, 30))
    exif = sideways.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    out = io.BytesIO()
    sideways.save(out, "JPEG", exif=exif)
    prepared = await reader.prepare(out.getvalue())
    assert (prepared.width, prepared.height) == (200, 300)


async def test_gif_webp_and_bmp_are_read_too(reader):
    for fmt in ("GIF", "WEBP", "BMP"):
        prepared = await reader.prepare(picture((32, 16), fmt=fmt))
        assert (prepared.width, prepared.height) == (32, 16)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"%PDF-1.4 not a picture",
        picture((200, 200))[:300],  # truncated
        b"\x89PNG\r\n\x1a\n" + b"\0" * 100,  # a signature and nothing after it
    ],
    ids=["empty", "a pdf", "truncated png", "bare signature"],
)
async def test_what_is_not_a_whole_picture_is_unreadable(reader, data):
    with pytest.raises(MediaError) as refused:
        await reader.prepare(data)
    assert refused.value.problem == notices.UNREADABLE


def test_a_bomb_is_refused_from_its_header_in_bounded_time_and_memory(figures):
    for width, height in ((5000, 5000), (20000, 20000), (100_000, 100_000)):
        bomb = png_claiming(width, height)
        result = measured(size_and_type, bomb)
        assert result.outcome == ("error", "MediaError", notices.TOO_LARGE)
        assert result.seconds < 1.0 and result.peak_mb < 20
        figures(
            f"{width}x{height} PNG ({len(bomb):,} bytes) refused in {result.seconds * 1000:.0f} ms,"
            f" +{result.peak_mb:.1f} MB"
        )
    assert IMAGE_MAX_PIXELS < 5000 * 5000


def test_a_30_megapixel_photo_is_read_at_a_reduced_scale_and_48_are_refused(figures):
    photo = picture((6000, 5000), (90, 90, 90), fmt="JPEG", quality=60)
    result = measured(size_and_type, photo)
    assert result.outcome == (2048, 1707, "image/jpeg")
    assert result.peak_mb < 90  # a full decode alone holds 120 MB (4 bytes a pixel)
    figures(
        f"6000x5000 JPEG ({len(photo):,} bytes) read in {result.seconds:.2f} s, "
        f"+{result.peak_mb:.0f} MB"
    )
    larger = measured(size_and_type, picture((8000, 6000), fmt="JPEG", quality=60))
    assert larger.outcome == ("error", "MediaError", notices.TOO_LARGE)
