"""How large a picture this service decodes. Pillow only refuses beyond about 179 million
pixels by default: a 684 KB PNG of 13000 x 13000 took 680 MB and 3 s to decode. Every picture
here is one a model drew or WeCom will show (the largest common sizes are under 2 million
pixels), so 4096 x 4096 is plenty; its size is read from the header and judged before any
pixel is decoded, and Pillow's own guard is lowered to match for any decode that forgets.
"""

from __future__ import annotations

from PIL import Image

IMAGE_MAX_PIXELS = 4096 * 4096

Image.MAX_IMAGE_PIXELS = IMAGE_MAX_PIXELS


def too_many_pixels(image: Image.Image) -> bool:
    """Judged from the header alone: call before `load()`."""
    width, height = image.size
    return width * height > IMAGE_MAX_PIXELS
