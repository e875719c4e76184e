"""Pictures for tests of what the service decodes: real ones made with Pillow, and crafted
ones that only claim a size."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def picture(size: tuple[int, int], colour=(30, 120, 200), fmt: str = "PNG", mode="RGB",
            **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt, **save)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims `width` x `height`: a decompression bomb's first bytes
    (a real 13000 x 13000 one is 684 KB and took 680 MB and 3 s to decode)."""
    out = io.BytesIO()
    Image.new("L", (8, 8)).save(out, "PNG")
    real = out.getvalue()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    # The signature (8 bytes), then the real IHDR chunk (25 bytes) replaced by the claim.
    return real[:8] + ihdr + real[8 + 25 :]
