"""The mobile workbench in Debian's Chromium against a real server process, on SQLite and (with
FIELDSYNC_TEST_DATABASE_URL) PostgreSQL. One server per backend for the module (the browser tests
share it; each test sets up its own orders, routes and templates over the API), phone-sized pages.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldsync.simulation.server import ServerProcess
from mobile_api.workbench_app.routes import DIST

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
PHONE = {"width": 360, "height": 740}
PASSWORD = "fieldsync-demo"


def skip_unless_browser_and_build() -> None:
    if not (DIST / "index.html").is_file():
        pytest.skip("the mobile workbench is not built: cd clients/workbench && npm ci && npm run build")
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")


@dataclass
class Api:
    """Plain API calls for a test's setup and its checks of what the server holds."""

    url: str
    http: httpx.Client
    tokens: dict[str, str]

    def headers(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            r = self.http.post(
                "/auth/login",
                json={"username": username, "password": PASSWORD, "client_id": f"api-{username}"},
            )
            assert r.status_code == 200, r.text
            self.tokens[username] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def call(self, username: str, method: str, path: str, **kw: Any) -> Any:
        r = self.http.request(method, path, headers=self.headers(username), **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def get(self, username: str, path: str, **params: Any) -> Any:
        return self.call(username, "GET", path, params=params)

    def post(self, username: str, path: str, body: dict | None = None) -> Any:
        return self.call(username, "POST", path, json=body or {})

    def items(self, username: str, path: str, **params: Any) -> list[dict]:
        return self.get(username, path, limit=500, **params)["items"]

    def org(self, code: str) -> dict:
        return next(o for o in self.items("admin", "/admin/organisations") if o["code"] == code)

    def shops(self, distributor_code: str) -> list[dict]:
        dist = self.org(distributor_code)
        orgs = self.items("admin", "/admin/organisations")
        return sorted(
            (o for o in orgs if o["kind"] == "terminal" and o["parent_id"] == dist["id"]),
            key=lambda o: o["code"],
        )

    def user(self, username: str) -> dict:
        return next(u for u in self.items("admin", "/admin/users") if u["username"] == username)

    def product(self, sku: str) -> dict:
        return next(p for p in self.items("admin", "/admin/products") if p["sku"] == sku)

    def submitted_purchase(self, lines: list[tuple[str, int]]) -> dict:
        """A purchase order of dist-north from Supplier A (``(sku, qty)`` lines), submitted."""
        order = self.post(
            "dist-north",
            "/orders",
            {
                "kind": "purchase",
                "supplier_id": self.org("sup-a")["id"],
                "lines": [{"product_id": self.product(sku)["id"], "qty": q} for sku, q in lines],
            },
        )
        self.post("dist-north", f"/orders/{order['id']}/submit")
        return order

    def shipped_purchase(self, lines: list[tuple[str, int]], note: str) -> tuple[dict, dict]:
        """A purchase order of dist-north from Supplier A, submitted, confirmed and shipped."""
        order = self.submitted_purchase(lines)
        self.post("supplier-a", f"/orders/{order['id']}/confirm")
        delivery = self.post("supplier-a", f"/orders/{order['id']}/ship", {"delivery_note": note})
        return order, delivery


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    skip_unless_browser_and_build()
    if request.param == "sqlite":
        db_url = request.getfixturevalue("sqlite_template").fresh(
            tmp_path_factory.mktemp("appdb"), seeded=True
        )
    else:
        pg = request.getfixturevalue("postgres_database")
        if pg is None:
            pytest.skip("PostgreSQL variant: set FIELDSYNC_TEST_DATABASE_URL to run it")
        db_url = pg.fresh(seeded=True)
    with ServerProcess(db_url, tmp_path_factory.mktemp("appserver"), env="test") as proc:
        yield proc


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[Api]:
    with httpx.Client(base_url=server.url, timeout=20) as http:
        yield Api(server.url, http, {})


@pytest.fixture(scope="module")
def browser(server: ServerProcess) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@dataclass
class Phone:
    """One phone: its own browser context (storage, service worker, network switch) and page."""

    context: Any
    page: Any
    base: str
    errors: list[str]

    def go(self, path: str) -> None:
        """In-app navigation (the router's history API), as a tap on a link would do."""
        self.page.evaluate(
            "p => { history.pushState(null, '', '/app' + p); dispatchEvent(new PopStateEvent('popstate')); }",
            path,
        )

    def offline(self, off: bool = True) -> None:
        self.context.set_offline(off)

    def synced(self, timeout: float = 30_000) -> None:
        """Wait until the outbox is empty and nothing is syncing."""
        from playwright.sync_api import expect

        expect(self.page.get_by_test_id("pending")).to_have_attribute("data-n", "0", timeout=timeout)
        expect(self.page.get_by_test_id("net")).to_have_attribute("data-online", "1", timeout=timeout)
        # ... and a pull has completed (a shot right after sign-in shows the data, not "not synced yet")
        expect(self.page.get_by_test_id("syncbar")).to_have_attribute("data-synced", "1", timeout=timeout)


def open_phone(
    browser: Any,
    server: ServerProcess,
    username: str,
    *,
    locale: str = "en-US",
    path: str = "/",
    **context_options: Any,
) -> Phone:
    """A signed-in phone (``context_options`` go to the browser context: permissions, geolocation)."""
    context = browser.new_context(
        viewport=PHONE, locale=locale, device_scale_factor=1, has_touch=False, **context_options
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/app/")
    try:
        page.locator("input[name=username]").wait_for(timeout=30_000)
    except Exception as exc:  # say what the phone shows instead, for a failure seen once under load
        shown = page.evaluate("document.body.innerText.slice(0, 300)")
        raise AssertionError(f"no sign-in form at {page.url}: shows {shown!r}; page errors {errors}") from exc
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.get_by_test_id("home").wait_for(timeout=20_000)
    phone = Phone(context, page, server.url, errors)
    if path != "/":
        phone.go(path)
    phone.synced()
    return phone


def jpeg(colour: tuple[int, int, int], size: int = 96) -> bytes:
    """A small real JPEG (the server validates photos with Pillow)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, "JPEG", quality=80)
    return out.getvalue()
