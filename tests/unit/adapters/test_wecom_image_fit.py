"""What WeCom is sent when an image is larger than it takes, or of a type it does not take."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from adapters.outbound.wecom.wecom_image_fit import fit_image
from application.ports.wecom import DeliveryError
from tests.support.images import png_claiming


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def noise(size: tuple[int, int]) -> Image.Image:
    return Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(("fmt", "extension"), [("PNG", "png"), ("JPEG", "jpg")])
def test_a_jpg_or_png_within_the_limit_is_sent_as_it_is(fmt, extension):
    data = encoded(noise((50, 40)), fmt)

    assert fit_image(data, "picture.bin", limit=len(data)) == (
        data,
        f"picture.{extension}",
        f"image/{'jpeg' if fmt == 'JPEG' else 'png'}",
    )


def test_a_large_photo_is_sent_as_a_smaller_jpeg_of_the_same_size():
    data = encoded(noise((300, 200)))
    limit = len(data) // 2

    fitted, name, content_type = fit_image(data, "photo.png", limit=limit)

    assert len(fitted) <= limit
    assert (name, content_type) == ("photo.jpg", "image/jpeg")
    assert opened(fitted).size == (300, 200)


def test_when_lower_quality_is_not_enough_the_image_is_scaled_down():
    data = encoded(noise((300, 200)))
    limit = 12_000  # noise at 300x200 needs more even at the lowest quality

    fitted, _, _ = fit_image(data, "photo.png", limit=limit)

    smaller = opened(fitted)
    assert len(fitted) <= limit
    assert smaller.width < 300
    assert smaller.width / smaller.height == pytest.approx(1.5, rel=0.02)


def test_transparent_parts_become_white_not_black():
    image = noise((200, 200)).convert("RGBA")
    image.paste((0, 0, 0, 0), (0, 0, 20, 20))
    data = encoded(image)

    fitted, _, _ = fit_image(data, "logo.png", limit=len(data) // 2)

    assert opened(fitted).getpixel((5, 5)) == pytest.approx((255, 255, 255), abs=8)


def test_an_image_that_cannot_be_made_small_enough_is_refused_in_plain_words():
    data = encoded(noise((300, 200)))

    with pytest.raises(DeliveryError) as raised:
        fit_image(data, "photo.png", limit=300)

    assert raised.value.permanent
    assert raised.value.reason == (
        "the image cannot be sent through WeCom: it stays over 300 bytes even as a small JPEG"
    )


@pytest.mark.parametrize(
    "data",
    [b"", b"GIF8", b"<html>not found</html>", encoded(noise((50, 40)))[:200]],
    ids=["empty", "five bytes", "html", "truncated png"],
)
def test_what_is_not_a_readable_image_is_refused_for_good(data):
    with pytest.raises(DeliveryError) as raised:
        fit_image(data, "picture.png")

    assert raised.value.permanent
    assert raised.value.reason.startswith("the image cannot be sent through WeCom: ")


@pytest.mark.parametrize("size", [(13000, 13000), (4097, 4096)])
def test_a_picture_of_too_many_pixels_is_refused_before_it_is_decoded(size):
    with pytest.raises(DeliveryError, match="more than 16,777,216 pixels") as refused:
        fit_image(png_claiming(*size), "bomb.png")
    assert refused.value.permanent
