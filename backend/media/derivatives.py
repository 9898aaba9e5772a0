"""Derivatives of stored photos: a thumbnail and a display size, upright, sRGB, metadata stripped."""

from __future__ import annotations

import anyio.to_thread

from backend.media.imaging import make_derivatives as render
from backend.media.storage import Storage, derivative_key, original_key

VARIANTS = {"thumb": 320, "display": 1600}
DERIVATIVE_VERSION = "v2"  # part of the ETag: bump when the recipe changes


def _render(data: bytes, max_pixels: int) -> dict[str, bytes]:
    return render(data, sides=VARIANTS, fmt="JPEG", max_pixels=max_pixels)


async def make_derivatives(storage: Storage, sha256: str, *, max_pixels: int) -> None:
    """Render and store every variant of photo ``sha256`` (idempotent: same input, same output)."""
    data = await storage.get(original_key(sha256))
    rendered = await anyio.to_thread.run_sync(_render, data, max_pixels)
    for name, body in rendered.items():
        await storage.put(derivative_key(sha256, name), body)
