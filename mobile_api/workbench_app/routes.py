"""``/app/``: the built mobile workbench, with a single-page-app fallback and cache headers.

The build lives in ``clients/workbench/dist`` (``npm run build`` there, or ``make run``). Hashed
files under ``assets/`` are cached for a year; the shell, the service worker and the manifest are
revalidated on every load (``no-cache`` with an ETag), so a new build reaches phones on their next
start. Any path without a file extension answers the shell (the app's router reads it). With no
build, every path answers a page that says how to build it.
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from litestar import Request, Response, get
from litestar.response import Redirect
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_304_NOT_MODIFIED,
    HTTP_404_NOT_FOUND,
    HTTP_503_SERVICE_UNAVAILABLE,
)

PREFIX = "/app/"
DIST = Path(__file__).resolve().parents[2] / "clients" / "workbench" / "dist"

_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "no-cache"
_TYPES = {
    ".webmanifest": "application/manifest+json",
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
}

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Workbench not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:36rem;padding:0 1rem}
code,pre{background:#eef2f0;border-radius:4px;padding:.1rem .3rem}pre{padding:.8rem}</style></head>
<body><h1>The mobile workbench is not built yet</h1>
<p>fieldsync serves the phone app from <code>clients/workbench/dist</code>, which is missing.
Build it (Node.js 20 or newer) and reload this page:</p>
<pre>cd clients/workbench
npm ci
npm run build</pre>
<p><code>make run</code> does this for you on start. The API itself is up: see
<a href="/schema">/schema</a>.</p>
<h2>移动工作台尚未构建</h2><p>请在 <code>clients/workbench</code> 中运行 <code>npm ci</code> 和
<code>npm run build</code>（需要 Node.js 20+），或使用 <code>make run</code>，然后刷新本页。</p>
</body></html>"""


def _cache_control(relative: str) -> str:
    return _IMMUTABLE if relative.startswith("assets/") else _REVALIDATE


def _resolve(relative: str) -> Path | None:
    """The built file for ``relative`` (inside ``DIST`` only), the shell for app routes, else None."""
    root = DIST.resolve()
    candidate = (root / relative).resolve() if relative else root / "index.html"
    if not candidate.is_relative_to(root):
        return None
    if candidate.is_file():
        return candidate
    last = relative.rsplit("/", 1)[-1]
    if "." not in last:  # an app route such as orders/0192…: the router in the shell handles it
        return root / "index.html"
    return None


def _file_response(request: Request, path: Path, relative: str) -> Response[bytes]:
    body = path.read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    headers = {"Cache-Control": _cache_control(relative), "ETag": etag, "X-Content-Type-Options": "nosniff"}
    if path.name == "sw.js":
        headers["Service-Worker-Allowed"] = PREFIX
    media_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers, media_type=media_type)
    return Response(body, status_code=HTTP_200_OK, headers=headers, media_type=media_type)


@get(["/app/", "/app/{relative:path}"], include_in_schema=False, sync_to_thread=False)
def app_file(request: Request, relative: str = "") -> Response[bytes] | Redirect:
    """A built file of the app, or the shell for any app route; ``/app`` redirects to ``/app/``."""
    # The service worker's scope ends with the slash (Litestar routes both spellings here).
    if request.scope.get("raw_path", b"").split(b"?")[0] == b"/app":
        return Redirect(PREFIX, status_code=308)
    relative = relative.lstrip("/")
    if not (DIST / "index.html").is_file():
        return Response(
            NOT_BUILT.encode(),
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
            media_type="text/html",
            headers={"Cache-Control": "no-store", "Retry-After": "30"},
        )
    path = _resolve(relative)
    if path is None:
        return Response(
            b"Not found in the workbench build.",
            status_code=HTTP_404_NOT_FOUND,
            media_type="text/plain",
            headers={"Cache-Control": "no-store"},
        )
    return _file_response(request, path, relative if path.name != "index.html" else "index.html")


ROUTES = [app_file]
