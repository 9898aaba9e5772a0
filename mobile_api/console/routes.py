"""Serves the support console page and its static files."""

from __future__ import annotations

from pathlib import Path

from litestar import MediaType, get
from litestar.static_files import create_static_files_router

HERE = Path(__file__).resolve().parent
_PAGE = (HERE / "console.html").read_text(encoding="utf-8")


@get("/console", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False)
def console_page() -> str:
    """The console; it signs the agent in and then talks to the API and the WebSocket."""
    return _PAGE


ROUTES = [
    console_page,
    create_static_files_router(
        path="/console/static", directories=[HERE / "static"], include_in_schema=False
    ),
]
