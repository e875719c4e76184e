"""An ImageModel that needs no server, for the sandbox and tests: it draws a card whose colours
and pattern follow from the prompt's hash, so one prompt always gives the same picture and
different prompts visibly different ones. The prompt itself is not written on it: there may be
no font with Chinese glyphs on the machine, so the card shows the hash instead."""

from __future__ import annotations

import asyncio
import colorsys
import hashlib
import io

from PIL import Image, ImageDraw

SIZE = 512
_SHAPES = 12


class OfflineImageModel:
    async def generate(self, prompt: str) -> bytes:
        return await asyncio.to_thread(draw_card, prompt)


def draw_card(prompt: str) -> bytes:
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    hue = digest[0] / 255
    card = Image.new("RGB", (SIZE, SIZE), _colour(hue, 0.92, 0.35))
    draw = ImageDraw.Draw(card)
    # Three bytes of the digest place, size and colour each shape.
    for n in range(_SHAPES):
        x, y, r = digest[1 + 2 * n], digest[2 + 2 * n], digest[31 - n]
        box = (x * 2, y * 2, x * 2 + 24 + r // 3, y * 2 + 24 + r // 3)
        colour = _colour((hue + r / 1024) % 1.0, 0.55 + (n % 3) * 0.1, 0.65)
        if n % 2:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)
    draw.rectangle((0, SIZE - 40, SIZE, SIZE), fill=(255, 255, 255))
    draw.text((12, SIZE - 28), f"offline image model  #{digest.hex()[:12]}", fill=(40, 40, 40))
    out = io.BytesIO()
    card.save(out, "PNG")
    return out.getvalue()


def _colour(hue: float, lightness: float, saturation: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hls_to_rgb(hue, lightness, saturation)
    return round(red * 255), round(green * 255), round(blue * 255)
