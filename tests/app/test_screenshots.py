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

LANGS = {"en": "en-US", "zh": "zh-CN"}


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


@pytest.mark.parametrize("lang", list(LANGS))
def test_screenshots_of_every_main_screen(
    shots_browser: Any, demo_server: ServerProcess, artifacts_dir: Path, lang: str
) -> None:
    out = artifacts_dir / "app" / lang
    out.mkdir(parents=True, exist_ok=True)
    taken: list[str] = []
    errors: list[str] = []

    def shot(phone: Any, name: str, ready: str) -> None:
        expect(phone.page.get_by_test_id(ready).first).to_be_visible()
        phone.page.wait_for_timeout(150)  # let images and fonts settle
        phone.page.screenshot(path=str(out / f"{name}.png"))
        taken.append(name)

    locale = LANGS[lang]
    dist = open_phone(shots_browser, demo_server, "dist-north", locale=locale)
    page = dist.page
    shot(dist, "01-distributor-home", "home")
    page.get_by_test_id("tab-catalog").click()
    shot(dist, "02-distributor-catalog", "catalog")
    page.get_by_test_id("add").first.click()
    page.get_by_test_id("add").nth(1).click()
    page.get_by_test_id("go-cart").click()
    shot(dist, "03-distributor-cart", "cart")
    page.get_by_test_id("tab-orders").click()
    shot(dist, "04-distributor-orders", "order-row")
    _first(page, "order-row")
    shot(dist, "05-distributor-order", "order")
    page.get_by_test_id("tab-stock").click()
    shot(dist, "06-distributor-stock", "stock-row")
    dist.go("/claims")
    shot(dist, "07-distributor-claims", "claims")
    page.get_by_test_id("tab-chat").click()
    shot(dist, "08-chat-list", "conversation")
    _first(page, "conversation")
    shot(dist, "09-chat-thread", "chat-thread")
    dist.go("/sync")
    shot(dist, "10-sync-state", "sync-page")
    dist.offline()
    dist.go("/")
    shot(dist, "11-distributor-home-offline", "home")
    errors += dist.errors
    dist.context.close()

    rep = open_phone(shots_browser, demo_server, "field-north", locale=locale)
    page = rep.page
    shot(rep, "12-field-home", "home")
    page.get_by_test_id("tab-route").click()
    shot(rep, "13-field-route", "route-stop")
    _first(page, "route-stop")
    shot(rep, "14-field-visit-shelf", "counts")
    page.get_by_test_id("visit-tab-order").click()
    page.get_by_test_id("order-search").fill("A-000")
    _first(page, "pick-product")
    shot(rep, "15-field-visit-order", "draft-line")
    page.get_by_test_id("visit-tab-inspection").click()
    page.get_by_test_id("inspection").or_(page.get_by_test_id("inspection-start")).first.wait_for()
    if page.get_by_test_id("template").count():
        page.get_by_test_id("template").filter(has_text="Supplier A").first.click()
    page.get_by_test_id("answer-yes").first.click()
    if page.get_by_test_id("photo-input").count():  # the shop's open visit may have no photo question
        page.get_by_test_id("photo-input").first.set_input_files(
            [{"name": "shelf.jpg", "mimeType": "image/jpeg", "buffer": jpeg((90, 140, 200))}]
        )
    shot(rep, "16-field-visit-inspection", "question")
    errors += rep.errors
    rep.context.close()

    inspector = open_phone(shots_browser, demo_server, "inspector-north", locale=locale)
    page = inspector.page
    page.get_by_test_id("tab-deliveries").click()
    shot(inspector, "17-inspector-deliveries", "deliveries")
    page.locator("[data-testid=delivery][data-state=in_transit]").first.click()
    page.get_by_test_id("line-short").first.locator("input").fill("1")
    shot(inspector, "18-inspector-acceptance", "accept-line")
    inspector.go("/deliveries")
    page.locator("[data-testid=delivery][data-state=accepted]").first.click()
    shot(inspector, "19-inspector-receipt", "evidence")
    errors += inspector.errors
    inspector.context.close()

    supplier = open_phone(shots_browser, demo_server, "supplier-a", locale=locale)
    page = supplier.page
    shot(supplier, "20-supplier-home", "home")
    page.get_by_test_id("tab-incoming").click()
    shot(supplier, "21-supplier-incoming", "order-row")
    page.locator(
        "[data-testid=order-row][data-state=submitted], [data-testid=order-row][data-state=confirmed]"
    ).first.click()
    page.get_by_test_id("reject-order").or_(page.get_by_test_id("ship-order")).first.click()
    shot(supplier, "22-supplier-order-action", "order")
    page.get_by_test_id("tab-claims").click()
    shot(supplier, "23-supplier-claims", "claims")
    errors += supplier.errors
    supplier.context.close()

    assert len(taken) == 23 and all((out / f"{n}.png").stat().st_size > 5000 for n in taken)
    assert not errors, errors
