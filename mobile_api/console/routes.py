"""Serves the support console page, its static files and the site's favicon."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from litestar import MediaType, Response, get
from litestar.static_files import create_static_files_router

HERE = Path(__file__).resolve().parent
_PAGE = (HERE / "console.html").read_text(encoding="utf-8")


@get("/console", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False)
def console_page() -> str:
    """The console; it signs the agent in and then talks to the API and the WebSocket."""
    return _PAGE


@cache
def favicon_bytes() -> bytes:
    """A 16/32/48 px icon drawn once: the console's blue square with a white speech bubble."""
    from PIL import Image, ImageDraw

    size = 64
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=14, fill=(31, 79, 138, 255))
    draw.rounded_rectangle((12, 14, 52, 42), radius=9, fill=(255, 255, 255, 255))
    draw.polygon([(20, 40), (20, 52), (32, 41)], fill=(255, 255, 255, 255))
    for x in (22, 32, 42):
        draw.ellipse((x - 3, 25, x + 3, 31), fill=(31, 79, 138, 255))
    out = io.BytesIO()
    img.save(out, format="ICO", sizes=[(16, 16), (32, 32), (48, 48)])
    return out.getvalue()


@get("/favicon.ico", include_in_schema=False, sync_to_thread=False)
def favicon() -> Response[bytes]:
    return Response(
        favicon_bytes(), media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"}
    )


ROUTES = [
    console_page,
    favicon,
    create_static_files_router(
        path="/console/static", directories=[HERE / "static"], include_in_schema=False
    ),
]
