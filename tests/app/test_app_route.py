"""``/app/``: the built workbench with a single-page-app fallback, cache headers that let a new
build reach phones, the service worker's scope, and a page saying how to build it when missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mobile_api.workbench_app import routes


@pytest.fixture
def fake_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "icons").mkdir()
    (dist / "index.html").write_text("<!doctype html><title>shell</title>")
    (dist / "sw.js").write_text("self.addEventListener('fetch', () => {});")
    (dist / "manifest.webmanifest").write_text('{"name": "x"}')
    (dist / "assets" / "app-ABC123.js").write_text("console.log(1);" * 400)
    (dist / "icons" / "icon-192.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "secret.txt").write_text("outside the build")
    monkeypatch.setattr(routes, "DIST", dist)
    return dist


async def test_shell_and_app_routes_answer_index_html(
    client: AsyncTestClient[Litestar], fake_build: Path
) -> None:
    for path in ("/app/", "/app/orders/0192abc", "/app/visit/x?tab=inspection"):
        r = await client.get(path)
        assert r.status_code == 200, path
        assert "shell" in r.text
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["cache-control"] == "no-cache"  # revalidated: a new build reaches phones


async def test_bare_app_redirects_to_the_scope_with_a_slash(
    client: AsyncTestClient[Litestar], fake_build: Path
) -> None:
    r = await client.get("/app", follow_redirects=False)
    assert r.status_code == 308
    assert r.headers["location"] == "/app/"


async def test_hashed_assets_are_immutable_and_compressed(
    client: AsyncTestClient[Litestar], fake_build: Path
) -> None:
    r = await client.get("/app/assets/app-ABC123.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers.get("content-encoding") == "gzip"
    again = await client.get("/app/assets/app-ABC123.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


async def test_service_worker_and_manifest(client: AsyncTestClient[Litestar], fake_build: Path) -> None:
    sw = await client.get("/app/sw.js")
    assert sw.status_code == 200
    assert sw.headers["service-worker-allowed"] == "/app/"
    assert sw.headers["cache-control"] == "no-cache"
    manifest = await client.get("/app/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")


async def test_missing_files_and_escapes_are_404(client: AsyncTestClient[Litestar], fake_build: Path) -> None:
    assert (await client.get("/app/assets/gone-123.js")).status_code == 404
    assert (await client.get("/app/icons/nope.png")).status_code == 404
    for path in ("/app/../secret.txt", "/app/%2e%2e/secret.txt", "/app/..%2fsecret.txt"):
        r = await client.get(path)
        assert "outside the build" not in r.text, path


async def test_without_a_build_the_page_says_how_to_build(
    client: AsyncTestClient[Litestar], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "DIST", tmp_path / "not-built")
    for path in ("/app/", "/app/orders/1", "/app/assets/app.js"):
        r = await client.get(path)
        assert r.status_code == 503
        assert "npm run build" in r.text and "clients/workbench" in r.text
        assert r.headers["cache-control"] == "no-store"


async def test_app_is_not_in_the_openapi_document(client: AsyncTestClient[Litestar]) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert not [p for p in paths if p.startswith("/app")]
