"""Screenshots of every main screen, for each role, in English and Chinese, at 360×740, into
test-artifacts/app/<lang>/ (a person looks at them: see the notes in the issue). The server runs
on a small network seeded with the demo's activity (orders in every state, claims, routes,
inspections, chats). Screens do not depend on the database, so this runs once, on SQLite.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from backend.db import make_engine, make_session_factory
from fieldsync.simulation.server import ServerProcess
from tests.app.conftest import ARGS, CHROMIUM, jpeg, open_phone, skip_unless_browser_and_build
from tests.dbs import SqliteTemplate
from tests.factories import build_network

LANGS = ("en", "zh")


async def _seed(url: str) -> None:
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            await build_network(session, terminals=12, skus=40, activity=True)
            await session.commit()
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def demo_server(
    sqlite_template: SqliteTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    skip_unless_browser_and_build()
    url = sqlite_template.fresh(tmp_path_factory.mktemp("shotsdb"))
    asyncio.run(_seed(url))
    with ServerProcess(url, tmp_path_factory.mktemp("shotsserver"), env="test") as proc:
        yield proc


@pytest.fixture(scope="module")
def shots_browser(demo_server: ServerProcess) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _first(page: Any, testid: str) -> None:
    page.get_by_test_id(testid).first.click()


def _tour_distributor(shot: Any, phone: Any) -> None:
    page = phone.page
    phone.go("/")
    shot("01-distributor-home", "home")
    phone.go("/catalog")
    shot("02-distributor-catalog", "catalog")
    if not page.get_by_test_id("go-cart").count():
        page.get_by_test_id("add").first.click()
        page.get_by_test_id("add").nth(1).click()
    phone.go("/cart")
    shot("03-distributor-cart", "place-order")
    phone.go("/orders")
    shot("04-distributor-orders", "order-row")
    _first(page, "order-row")
    shot("05-distributor-order", "order")
    phone.go("/stock")
    shot("06-distributor-stock", "stock-row")
    phone.go("/claims")
    shot("07-distributor-claims", "claim")
    phone.go("/chat")
    shot("08-chat-list", "conversation")
    _first(page, "conversation")
    shot("09-chat-thread", "chat-thread")
    phone.go("/sync")
    shot("10-sync-state", "sync-page")
    phone.offline()
    phone.go("/")
    shot("11-distributor-home-offline", "home")
    phone.offline(False)


def _tour_field(shot: Any, phone: Any) -> None:
    page = phone.page
    phone.go("/")
    shot("12-field-home", "home")
    phone.go("/route")
    shot("13-field-route", "route-stop")
    _first(page, "route-stop")
    shot("14-field-visit-shelf", "counts")
    page.get_by_test_id("visit-tab-order").click()
    page.get_by_test_id("order-search").fill("A-000")
    _first(page, "pick-product")
    shot("15-field-visit-order", "draft-line")
    page.get_by_test_id("visit-tab-inspection").click()
    page.get_by_test_id("inspection").or_(page.get_by_test_id("inspection-start")).first.wait_for()
    if page.get_by_test_id("template").count():
        page.get_by_test_id("template").filter(has_text="Supplier A").first.click()
    page.get_by_test_id("answer-yes").first.click()
    if page.get_by_test_id("photo-input").count():  # the shop's open visit may have no photo question
        page.get_by_test_id("photo-input").first.set_input_files(
            [{"name": "shelf.jpg", "mimeType": "image/jpeg", "buffer": jpeg((90, 140, 200))}]
        )
    shot("16-field-visit-inspection", "question")


def _tour_inspector(shot: Any, phone: Any) -> None:
    page = phone.page
    phone.go("/deliveries")
    shot("17-inspector-deliveries", "deliveries")
    page.locator("[data-testid=delivery][data-state=in_transit]").first.click()
    page.get_by_test_id("line-short").first.locator("input").fill("1")
    shot("18-inspector-acceptance", "accept-line")
    phone.go("/deliveries")
    page.locator("[data-testid=delivery][data-state=accepted]").first.click()
    shot("19-inspector-receipt", "evidence")


def _tour_supplier(shot: Any, phone: Any) -> None:
    page = phone.page
    phone.go("/")
    shot("20-supplier-home", "home")
    phone.go("/incoming")
    shot("21-supplier-incoming", "order-row")
    rows = "[data-testid=order-row][data-state=submitted], [data-testid=order-row][data-state=confirmed]"
    page.locator(rows).first.click()
    page.get_by_test_id("reject-order").or_(page.get_by_test_id("ship-order")).first.click()
    shot("22-supplier-order-action", "order")
    phone.go("/claims")
    shot("23-supplier-claims", "claims")


TOURS = {
    "dist-north": _tour_distributor,
    "field-north": _tour_field,
    "inspector-north": _tour_inspector,
    "supplier-a": _tour_supplier,
}


@pytest.mark.parametrize("username", list(TOURS))
def test_screenshots_of_every_main_screen(
    shots_browser: Any, demo_server: ServerProcess, artifacts_dir: Path, username: str
) -> None:
    """Each role's screens in English, then the language switch, then the same in Chinese."""
    phone = open_phone(shots_browser, demo_server, username, locale="en-US")
    taken: list[Path] = []
    for lang in LANGS:
        out = artifacts_dir / "app" / lang
        out.mkdir(parents=True, exist_ok=True)

        def shot(name: str, ready: str, out: Path = out) -> None:
            expect(phone.page.get_by_test_id(ready).first).to_be_visible()
            phone.page.wait_for_timeout(150)  # let images and fonts settle
            phone.page.screenshot(path=str(out / f"{name}.png"))
            taken.append(out / f"{name}.png")

        if lang == "zh":
            phone.page.get_by_test_id("lang").click()
            expect(phone.page.locator("html")).to_have_attribute("lang", "zh-CN")
        TOURS[username](shot, phone)
    assert taken and all(p.stat().st_size > 5000 for p in taken)
    assert not phone.errors, phone.errors
    phone.context.close()
