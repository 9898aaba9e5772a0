"""Tests for backend.media.imaging; every image is generated with Pillow at test time."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms, ImageFile, JpegImagePlugin

from backend.media import imaging
from backend.media.imaging import (
    DISPLAY_SIDE,
    THUMBNAIL_SIDE,
    ImageRejected,
    inspect_image,
    make_derivative,
)

LIMITS = {"max_pixels": 50_000_000, "max_bytes": 30 * 1024 * 1024}
RED, BLUE = (220, 20, 20), (20, 20, 220)


def _exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Acme\x00"
    exif[0x0110] = "FieldCam 3"
    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    exif_ifd[0x9003] = "2024:05:01 10:20:30"
    exif_ifd[0x9011] = "+02:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[1], gps[2] = "N", (52.0, 22.0, 30.0)
    gps[3], gps[4] = "W", (4.0, 30.0, 0.0)
    return exif


def _split_image(size: tuple[int, int] = (400, 300), mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue (in stored, un-rotated orientation)."""
    img = Image.new(mode, size, BLUE if mode == "RGB" else (*BLUE, 255))
    img.paste(RED, (0, 0, size[0] // 2, size[1]))
    return img


def _encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width x height but carries almost no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def exif_jpeg() -> bytes:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return _encode(_split_image(), "JPEG", exif=_exif(6), quality=92, icc_profile=srgb)


@pytest.fixture(scope="module")
def big_jpeg() -> bytes:
    img = Image.radial_gradient("L").resize((4000, 3000)).convert("RGB")
    return _encode(img, "JPEG", quality=85)


def _reject_code(data: bytes, **limits: int) -> str:
    with pytest.raises(ImageRejected) as info:
        inspect_image(data, **{**LIMITS, **limits})
    return info.value.code


# --- inspect_image -----------------------------------------------------------------------------------


def test_jpeg_metadata_and_orientation(exif_jpeg: bytes) -> None:
    info = inspect_image(exif_jpeg, **LIMITS)
    assert info.format == "JPEG" and info.mime_type == "image/jpeg"
    assert (info.width, info.height) == (300, 400)  # orientation 6 swaps the stored 400x300
    assert info.orientation == 6
    assert info.sha256 == hashlib.sha256(exif_jpeg).hexdigest()
    assert info.byte_size == len(exif_jpeg)
    assert info.captured_at == "2024-05-01T10:20:30+02:00"
    assert info.gps == pytest.approx((52.375, -4.5))
    assert (info.camera_make, info.camera_model) == ("Acme", "FieldCam 3")


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_accepted(fmt: str, mime: str) -> None:
    data = _encode(_split_image((64, 32), "RGBA"), fmt)
    info = inspect_image(data, **LIMITS)
    assert (info.format, info.mime_type, info.width, info.height) == (fmt, mime, 64, 32)
    assert info.orientation == 1
    assert info.gps is None and info.captured_at is None and info.camera_make is None


def test_multi_picture_jpeg_is_treated_as_jpeg() -> None:
    data = _encode(_split_image((80, 60)), "MPO", save_all=True, append_images=[_split_image((40, 30))])
    info = inspect_image(data, **LIMITS)
    assert (info.format, info.mime_type, info.width) == ("JPEG", "image/jpeg", 80)


def _heic_or_skip(img: Image.Image, exif: Image.Exif) -> bytes:
    try:
        return _encode(img, "HEIF", exif=exif.tobytes(), quality=80)
    except Exception as exc:  # pragma: no cover - depends on the libheif build
        pytest.skip(f"HEIC encoding unsupported here: {exc}")


def test_heic_accepted_with_metadata() -> None:
    data = _heic_or_skip(_split_image(), _exif(6))
    assert data[4:12] == b"ftypheic"
    info = inspect_image(data, **LIMITS)
    assert info.format == "HEIF" and info.mime_type == "image/heic"
    assert (info.width, info.height) == (300, 400)
    assert info.orientation == 6
    assert info.gps == pytest.approx((52.375, -4.5))
    assert info.captured_at == "2024-05-01T10:20:30+02:00"
    thumb = Image.open(io.BytesIO(make_derivative(data, max_side=THUMBNAIL_SIDE)))
    assert thumb.size == (240, 320)


def test_truncated_jpeg_rejected(exif_jpeg: bytes) -> None:
    assert _reject_code(exif_jpeg[: len(exif_jpeg) * 2 // 3]) == "truncated_image"
    assert _reject_code(exif_jpeg[:-200]) == "truncated_image"
    assert _reject_code(exif_jpeg[:40]) == "truncated_image"  # cut inside the header


def test_truncated_png_and_heic_rejected() -> None:
    png = _encode(Image.effect_noise((200, 200), 60).convert("RGB"), "PNG")
    assert _reject_code(png[: len(png) // 2]) == "truncated_image"
    heic = _heic_or_skip(_split_image(), Image.Exif())
    assert _reject_code(heic[: len(heic) // 2]) == "truncated_image"


@pytest.mark.parametrize(
    "data", [b"just some notes, renamed to photo.jpg\n" * 20, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b""]
)
def test_non_images_rejected(data: bytes) -> None:
    assert _reject_code(data) == "not_an_image"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_image_formats_unsupported(fmt: str) -> None:
    assert _reject_code(_encode(_split_image((20, 20)), fmt)) == "unsupported_format"


def test_too_large(exif_jpeg: bytes) -> None:
    assert _reject_code(exif_jpeg, max_bytes=len(exif_jpeg) - 1) == "upload_too_large"
    inspect_image(exif_jpeg, max_pixels=10**6, max_bytes=len(exif_jpeg))


def test_pixel_bomb_rejected_before_decoding() -> None:
    # Declared 20000x20000 (400 MP): rejected from the header (the data is really truncated, so reaching
    # the decoder would have produced "truncated_image" instead).
    assert _reject_code(_png_header_only(20_000, 20_000)) == "image_too_many_pixels"
    assert _reject_code(_png_header_only(3000, 3000), max_pixels=1_000_000) == "image_too_many_pixels"
    assert _reject_code(_png_header_only(3000, 3000)) == "truncated_image"


def test_pillow_bomb_error_mapped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow raises above 2x this
    data = _encode(_split_image((100, 100)), "PNG")
    assert _reject_code(data) == "image_too_many_pixels"


def test_refuses_to_run_with_truncated_loading_enabled(
    monkeypatch: pytest.MonkeyPatch, exif_jpeg: bytes
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError):
        inspect_image(exif_jpeg, **LIMITS)


def test_rejection_carries_code_and_message() -> None:
    err = ImageRejected("not_an_image", "nope")
    assert err.code == "not_an_image" and err.message == "nope" and isinstance(err, ValueError)


# --- make_derivative ---------------------------------------------------------------------------------


def test_derivative_strips_all_metadata(exif_jpeg: bytes) -> None:
    for fmt in ("JPEG", "WEBP"):
        out = make_derivative(exif_jpeg, max_side=THUMBNAIL_SIDE, fmt=fmt)
        img = Image.open(io.BytesIO(out))
        assert img.format == fmt
        assert len(img.getexif()) == 0
        assert not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp"} & set(img.info)
        assert b"Exif\x00\x00" not in out and b"ICC_PROFILE" not in out and b"FieldCam" not in out


def test_derivative_applies_orientation(exif_jpeg: bytes) -> None:
    img = Image.open(io.BytesIO(make_derivative(exif_jpeg, max_side=THUMBNAIL_SIDE))).convert("RGB")
    assert img.size == (240, 320)  # stored 400x300, displayed 300x400
    # Orientation 6 = rotate 90 degrees clockwise: the stored left (red) half becomes the top.
    top, bottom = img.getpixel((120, 20)), img.getpixel((120, 300))
    assert top[0] > 150 and top[2] < 100
    assert bottom[2] > 150 and bottom[0] < 100


def test_draft_decode_used_and_correct_size(big_jpeg: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str | None, tuple[int, int]]] = []
    original_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None):  # type: ignore[no-untyped-def]
        result = original_draft(self, mode, size)
        calls.append((mode, self.size))
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    drafted = Image.open(io.BytesIO(make_derivative(big_jpeg, max_side=THUMBNAIL_SIDE)))
    assert drafted.size == (320, 240)
    assert calls and calls[0][0] == "RGB"
    assert calls[0][1] == (500, 375)  # decoded at 1/8 scale, still >= the requested size

    calls.clear()
    full = Image.open(io.BytesIO(make_derivative(big_jpeg, max_side=THUMBNAIL_SIDE, use_draft=False)))
    assert full.size == (320, 240) and not calls
    # Both paths give visually the same picture.
    a, b = drafted.convert("L").resize((32, 24)), full.convert("L").resize((32, 24))
    assert max(abs(x - y) for x, y in zip(a.getdata(), b.getdata(), strict=True)) < 24


def test_twelve_megapixel_thumbnail_and_display(big_jpeg: bytes) -> None:
    assert Image.open(io.BytesIO(big_jpeg)).size == (4000, 3000)
    thumb = make_derivative(big_jpeg, max_side=THUMBNAIL_SIDE)
    display = make_derivative(big_jpeg, max_side=DISPLAY_SIDE, fmt="WEBP")
    assert Image.open(io.BytesIO(thumb)).size == (320, 240)
    assert Image.open(io.BytesIO(display)).size == (1600, 1200)


def test_derivative_never_upscales_and_original_untouched() -> None:
    data = _encode(_split_image((100, 50)), "PNG")
    before = hashlib.sha256(data).hexdigest()
    out = Image.open(io.BytesIO(make_derivative(data, max_side=THUMBNAIL_SIDE)))
    assert out.size == (100, 50)
    assert hashlib.sha256(data).hexdigest() == before


def test_alpha_handling() -> None:
    img = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    data = _encode(img, "PNG")
    jpeg = Image.open(io.BytesIO(make_derivative(data, max_side=20)))
    assert jpeg.mode == "RGB" and jpeg.getpixel((10, 10)) == (255, 255, 255)  # flattened on white
    webp = Image.open(io.BytesIO(make_derivative(data, max_side=20, fmt="WEBP")))
    assert webp.mode == "RGBA" and webp.getpixel((10, 10))[3] == 0


@pytest.mark.parametrize("mode", ["L", "P", "LA", "I;16", "CMYK"])
def test_unusual_modes_convert(mode: str) -> None:
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    data = _encode(Image.new(mode, (30, 20)), fmt)
    out = Image.open(io.BytesIO(make_derivative(data, max_side=10)))
    assert out.mode == "RGB" and out.size == (10, 7)


def test_derivative_rejects_bad_input(exif_jpeg: bytes) -> None:
    with pytest.raises(ValueError):
        make_derivative(exif_jpeg, max_side=100, fmt="GIF")  # type: ignore[arg-type]
    with pytest.raises(ImageRejected) as info:
        make_derivative(exif_jpeg[:-300], max_side=100)
    assert info.value.code == "truncated_image"
    with pytest.raises(ImageRejected) as info:
        make_derivative(_png_header_only(20_000, 20_000), max_side=100)
    assert info.value.code == "image_too_many_pixels"


def test_exif_helpers_tolerate_garbage() -> None:
    assert imaging._exif_datetime("0000:00:00 00:00:00", None) is None
    assert imaging._exif_datetime(b"2023:01:02 03:04:05\x00", "bogus") == "2023-01-02T03:04:05"
    assert imaging._gps({2: (1, 2), 4: (1.0, 2.0, 3.0)}) is None
    assert imaging._gps({1: "S", 2: (33.0, 51.0, 54.0), 3: "E", 4: (151.0, 12.0, 36.0)}) == pytest.approx(
        (-33.865, 151.21)
    )
    assert imaging._dms((200.0, 0.0, 0.0), "E", "W", 180.0) is None
