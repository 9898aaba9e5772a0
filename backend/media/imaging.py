"""Pillow photo pipeline: validate uploads, read evidence metadata, make stripped derivatives.

Pure functions over ``bytes``; no database or storage access. CPU-bound, so async callers should
run them in a worker thread (``anyio.to_thread.run_sync`` / ``asyncio.to_thread``).

``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` must stay ``False`` process-wide (Pillow's default),
otherwise truncated uploads would be silently padded; :func:`inspect_image` refuses to run if it is set.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import re
from datetime import datetime
from typing import Any, Literal

import msgspec
import pillow_heif
from PIL import ExifTags, Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()

THUMBNAIL_SIDE = 320
DISPLAY_SIDE = 1600
DEFAULT_MAX_PIXELS = 50_000_000  # matches Settings.image_max_pixels
DEFAULT_MAX_BYTES = 30 * 1024 * 1024  # matches Settings.upload_max_bytes

RejectCode = Literal[
    "upload_too_large", "not_an_image", "unsupported_format", "truncated_image", "image_too_many_pixels"
]
DerivativeFormat = Literal["JPEG", "WEBP"]

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heif"}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_HEIF_BRANDS = _HEIC_BRANDS | {b"mif1", b"mif2", b"msf1"}

_TAG_ORIENTATION = 0x0112
_TAG_MAKE = 0x010F
_TAG_MODEL = 0x0110
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_OFFSET_TIME_ORIGINAL = 0x9011
_OFFSET_RE = re.compile(r"^[+-]\d{2}:\d{2}$")


class ImageRejected(ValueError):
    """The upload is not an acceptable photo; ``code`` is a stable machine-readable reason."""

    def __init__(self, code: RejectCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code: RejectCode = code
        self.message = message


class ImageInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Validated facts about an original upload (dimensions are as displayed, after EXIF orientation)."""

    format: str  # JPEG | PNG | WEBP | HEIF
    mime_type: str
    width: int
    height: int
    orientation: int  # EXIF orientation of the original, 1..8
    sha256: str  # hex digest of the original bytes
    byte_size: int
    captured_at: str | None = None  # EXIF DateTimeOriginal, ISO 8601 (with offset when recorded)
    gps: tuple[float, float] | None = None  # (latitude, longitude) in decimal degrees
    camera_make: str | None = None
    camera_model: str | None = None


def inspect_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_bytes: int = DEFAULT_MAX_BYTES
) -> ImageInfo:
    """Fully decode ``data`` to validate it and extract evidence metadata; raise :class:`ImageRejected`."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("ImageFile.LOAD_TRUNCATED_IMAGES is set; truncated uploads can't be detected")
    if len(data) > max_bytes:
        raise ImageRejected("upload_too_large", f"{len(data)} bytes exceeds the {max_bytes} byte limit")
    img = _open(data, max_pixels)
    try:
        width, height = img.size
        if img.format in ("JPEG", "MPO"):
            # Decode at 1/8 scale: every byte of the entropy-coded data is still read (so truncation
            # is still detected) but the inverse DCT and colour conversion shrink 64-fold.
            img.draft(img.mode, (max(1, math.ceil(width / 8)), max(1, math.ceil(height / 8))))
        _load(img)
        # Multi-picture JPEGs (common from phone cameras) open as Pillow's "MPO"; they are JPEGs.
        fmt = "JPEG" if img.format == "MPO" else str(img.format)
        meta = _exif_meta(img)
        tag_orientation = meta.pop("tag_orientation")
        if tag_orientation in (5, 6, 7, 8):  # exif_transpose will rotate by 90/270 degrees
            width, height = height, width
        mime = _MIME[fmt]
        if fmt == "HEIF" and data[8:12] in _HEIC_BRANDS:
            mime = "image/heic"
        return ImageInfo(
            format=fmt,
            mime_type=mime,
            width=width,
            height=height,
            sha256=hashlib.sha256(data).hexdigest(),
            byte_size=len(data),
            **meta,
        )
    finally:
        img.close()


def make_derivative(
    data: bytes,
    *,
    max_side: int,
    fmt: DerivativeFormat = "JPEG",
    quality: int = 82,
    use_draft: bool = True,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> bytes:
    """Return an upright, sRGB, metadata-free copy of ``data`` fitting in ``max_side`` x ``max_side``.

    Never upscales. For JPEG sources with ``use_draft`` the decoder scales down by 1/2..1/8 while
    decoding (``Image.draft``), which is much faster and lighter for big photos.
    """
    return make_derivatives(
        data, sides={"out": max_side}, fmt=fmt, quality=quality, use_draft=use_draft, max_pixels=max_pixels
    )["out"]


def make_derivatives(
    data: bytes,
    *,
    sides: dict[str, int],
    fmt: DerivativeFormat = "JPEG",
    quality: int = 82,
    use_draft: bool = True,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> dict[str, bytes]:
    """Several sizes from one decode: ``{name: bytes}`` for each ``{name: max_side}`` (see make_derivative).

    The source is decoded once (with ``draft`` for the largest side: libjpeg scales by 1/2, 1/4
    or 1/8 while decoding) and each smaller size is resized from the previous one. The largest
    size is resized *before* the EXIF rotation and the ICC conversion, so both run on the
    smaller picture; resizing uses bicubic (Pillow's resize filters are area-aware, so this is a
    proper antialiased downscale) with ``reducing_gap`` for big ratios, instead of Lanczos, which
    cost ~50% more for no visible gain at these sizes (docs/media.md).
    """
    fmt = fmt.upper()  # type: ignore[assignment]
    if fmt not in ("JPEG", "WEBP"):
        raise ValueError(f"unsupported derivative format {fmt!r}")
    if not sides or min(sides.values()) < 1:
        raise ValueError("max_side must be positive")
    largest = max(sides.values())
    img = _open(data, max_pixels)
    try:
        if use_draft and img.format in ("JPEG", "MPO"):
            w, h = img.size
            scale = min(1.0, largest / max(w, h))
            img.draft("RGB", (max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale))))
        _load(img)
        out = _resizable(img)
        results: dict[str, bytes] = {}
        for n, (name, max_side) in enumerate(sorted(sides.items(), key=lambda item: -item[1])):
            w, h = out.size
            if max(w, h) > max_side:  # the bound is a square, so it fits before or after rotation
                scale = max_side / max(w, h)
                size = (max(1, round(w * scale)), max(1, round(h * scale)))
                out = out.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
            if n == 0:  # info (EXIF, ICC) is carried through resize; later sizes start upright sRGB
                out = _to_srgb(ImageOps.exif_transpose(out), keep_alpha=fmt == "WEBP")
            out.info = {}  # drop EXIF / ICC / XMP / comments so nothing is carried into the output
            buf = io.BytesIO()
            if fmt == "JPEG":
                out.save(buf, "JPEG", quality=quality, exif=b"", icc_profile=None)
            else:
                out.save(buf, "WEBP", quality=quality, exif=b"", icc_profile=b"", xmp=b"")
            results[name] = buf.getvalue()
        return results
    finally:
        img.close()


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Parse the header only (no pixel decoding) and apply format and pixel-count checks."""
    if not data:
        raise ImageRejected("not_an_image", "empty file")
    try:
        img = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageRejected("image_too_many_pixels", str(exc)) from None
    except UnidentifiedImageError:
        raise _classify_unreadable(data) from None
    except (OSError, ValueError, EOFError, RuntimeError) as exc:  # plugin errors on a damaged header
        raise ImageRejected("truncated_image", f"damaged image header: {exc}") from None
    width, height = img.size
    if width < 1 or height < 1:
        img.close()
        raise ImageRejected("not_an_image", "image has no pixels")
    if width * height > max_pixels:
        img.close()
        raise ImageRejected(
            "image_too_many_pixels",
            f"{width}x{height} = {width * height} pixels exceeds the {max_pixels} limit",
        )
    return img


def _load(img: Image.Image) -> None:
    try:
        img.load()
    except Image.DecompressionBombError as exc:
        raise ImageRejected("image_too_many_pixels", str(exc)) from None
    except ValueError as exc:
        if "decompressed" in str(exc).lower():  # e.g. oversized PNG text/ICC chunks
            raise ImageRejected("image_too_many_pixels", str(exc)) from None
        raise ImageRejected("truncated_image", f"image data is damaged: {exc}") from None
    except Exception as exc:
        raise ImageRejected("truncated_image", f"image data is truncated or damaged: {exc}") from None


def _sniff(data: bytes) -> str | None:
    """Recognise accepted formats by magic bytes (used to explain why decoding failed)."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def _classify_unreadable(data: bytes) -> ImageRejected:
    sniffed = _sniff(data)
    if sniffed:
        return ImageRejected("truncated_image", f"looks like {sniffed} but cannot be decoded")
    try:  # header-only probe with every Pillow plugin, to tell "other image format" from "not an image"
        with Image.open(io.BytesIO(data)) as other:
            other_format = other.format
    except Image.DecompressionBombError:
        other_format = "unknown"
    except Exception:
        return ImageRejected("not_an_image", "file is not a recognised image")
    return ImageRejected(
        "unsupported_format", f"{other_format} is not accepted; use {', '.join(ACCEPTED_FORMATS)}"
    )


def _exif_meta(img: Image.Image) -> dict[str, Any]:
    meta: dict[str, Any] = {"captured_at": None, "gps": None}
    try:
        exif = img.getexif()
    except Exception:
        exif = Image.Exif()
    tag = exif.get(_TAG_ORIENTATION, 1)
    meta["tag_orientation"] = tag if isinstance(tag, int) and 1 <= tag <= 8 else 1
    # pillow_heif applies HEIF rotation itself and resets the tag, keeping the original in info.
    original = img.info.get("original_orientation")
    valid_original = isinstance(original, int) and 1 <= original <= 8
    meta["orientation"] = original if valid_original else meta["tag_orientation"]
    meta["camera_make"] = _text(exif.get(_TAG_MAKE))
    meta["camera_model"] = _text(exif.get(_TAG_MODEL))
    with contextlib.suppress(Exception):  # malformed sub-IFDs just mean "no metadata"
        exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
        meta["captured_at"] = _exif_datetime(
            exif_ifd.get(_TAG_DATETIME_ORIGINAL), exif_ifd.get(_TAG_OFFSET_TIME_ORIGINAL)
        )
    with contextlib.suppress(Exception):
        meta["gps"] = _gps(exif.get_ifd(ExifTags.IFD.GPSInfo))
    return meta


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value or None


def _exif_datetime(value: Any, offset: Any) -> str | None:
    text = _text(value)
    if not text:
        return None
    try:
        moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset_text = _text(offset)
    if offset_text and _OFFSET_RE.match(offset_text):
        return datetime.fromisoformat(moment.isoformat() + offset_text).isoformat()
    return moment.isoformat()


def _gps(gps_ifd: dict[int, Any]) -> tuple[float, float] | None:
    lat = _dms(gps_ifd.get(2), gps_ifd.get(1), "S", 90.0)
    lon = _dms(gps_ifd.get(4), gps_ifd.get(3), "W", 180.0)
    if lat is None or lon is None:
        return None
    return (lat, lon)


def _dms(value: Any, ref: Any, negative_ref: str, limit: float) -> float | None:
    try:
        degrees, minutes, seconds = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    decimal = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(decimal) or not 0 <= decimal <= limit:
        return None
    return -decimal if (_text(ref) or "").upper() == negative_ref else decimal


def _resizable(img: Image.Image) -> Image.Image:
    """``img`` itself when Pillow resizes its mode with a proper filter, else RGB(A) (as _to_srgb)."""
    if img.mode in ("RGB", "RGBA", "CMYK"):
        return img
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    return img.convert("RGBA" if has_alpha else "RGB")


def _to_srgb(img: Image.Image, *, keep_alpha: bool) -> Image.Image:
    """Convert to 8-bit sRGB so the ICC profile can be dropped; flatten alpha onto white unless kept."""
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    mode = "RGBA" if has_alpha else "RGB"
    icc = img.info.get("icc_profile")
    if img.mode not in ("RGB", "RGBA", "CMYK"):
        img = img.convert(mode)
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            img = ImageCms.profileToProfile(img, src, ImageCms.createProfile("sRGB"), outputMode=mode) or img
        except Exception:  # broken or unsupported profile: fall back to a plain conversion
            pass
    if img.mode != mode:
        img = img.convert(mode)
    if mode == "RGBA" and not keep_alpha:
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img, mask=img.getchannel("A"))
        img = background
    return img
