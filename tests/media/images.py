"""Photos for media tests, generated with Pillow (distinct bytes per ``seed``)."""

from __future__ import annotations

import io
import random

from PIL import ExifTags, Image


def exif(orientation: int = 1) -> Image.Exif:
    data = Image.Exif()
    data[0x0112] = orientation
    data[0x010F] = "Acme"
    data[0x0110] = "FieldCam 3"
    data.get_ifd(ExifTags.IFD.Exif)[0x9003] = "2024:05:01 10:20:30"
    gps = data.get_ifd(ExifTags.IFD.GPSInfo)
    gps[1], gps[2] = "N", (52.0, 22.0, 30.0)
    gps[3], gps[4] = "E", (4.0, 30.0, 0.0)
    return data


def photo(
    seed: int = 0, size: tuple[int, int] = (640, 480), fmt: str = "JPEG", orientation: int = 6
) -> bytes:
    """A small photo with EXIF (capture time, GPS, camera); noisy so it does not compress to nothing."""
    rng = random.Random(seed)
    img = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    img.paste((200, 30, 30), (0, 0, size[0] // 2, size[1]))
    noise = Image.frombytes("RGB", (64, 64), rng.randbytes(64 * 64 * 3))
    img.paste(noise, (size[0] // 4, size[1] // 4))
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.save(buf, "JPEG", quality=90, exif=exif(orientation))
    else:
        img.save(buf, fmt)
    return buf.getvalue()


def large_photo(seed: int, min_bytes: int) -> bytes:
    """A JPEG of at least ``min_bytes`` (random noise compresses badly)."""
    rng = random.Random(seed)
    side = 256
    while True:
        img = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=95, exif=exif(1))
        if buf.tell() >= min_bytes:
            return buf.getvalue()
        side *= 2
