"""Photos a simulated phone takes: small JPEGs made with Pillow, different on every shot."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw


def snapshot(rng: random.Random, caption: str, size: tuple[int, int] = (320, 240)) -> bytes:
    """A ``size`` JPEG (about 10–20 kB): a coloured "shelf" with a noisy patch and ``caption``."""
    width, height = size
    img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for shelf in range(1, 4):
        y = shelf * height // 4
        draw.rectangle((0, y - 4, width, y), fill=(90, 60, 30))
        for x in range(8, width - 24, 28):
            colour = tuple(rng.randrange(256) for _ in range(3))
            draw.rectangle((x, y - 4 - rng.randrange(20, 50), x + 20, y - 5), fill=colour)
    patch = Image.frombytes("RGB", (48, 48), rng.randbytes(48 * 48 * 3))
    img.paste(patch, (rng.randrange(width - 48), rng.randrange(height - 48)))
    draw.text((6, 6), caption, fill=(255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()
