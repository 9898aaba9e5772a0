"""Screenshots of every main screen, for each role, in English and Chinese, at 360×740, into
test-artifacts/app/<lang>/ (a person looks at them: see the notes in the issue). The data on
screen is made over the API first (orders in several states, a delivery to accept and one
accepted with a claim, a route and a template, a chat and a support ticket). Screens do not
depend on the database, so this runs once, on SQLite, on the server of the browser tests
(test_browser.py collects the test from here).
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from fieldsync.simulation.server import ServerProcess
from tests.app.conftest import Api, jpeg, open_phone

LANGS = ("en", "zh")


@pytest.fixture(scope="module")
def screens_data(server: ServerProcess, api: Api, request: pytest.FixtureRequest) -> Api:
    if "postgresql" in request.node.name:
        pytest.skip("screens do not depend on the database: taken once, on SQLite")
    dist = api.org("dist-00")
    field = api.user("field-north")
    for shop in api.shops("dist-00"):  # (already on the route after the visit test: 409, fine)
        route = {"user_id": field["id"], "terminal_id": shop["id"]}
        r = api.http.post("/routes", json=route, headers=api.headers("dist-north"))
        assert r.status_code in (200, 201, 409), r.text
    api.post(
        "dist-north",
        "/inspection-templates",
        {
            "owner_id": dist["id"],
            "title": "门店巡检 Store visit",
            "questions": [
                {"id": "open", "kind": "yes_no", "text": "门店营业中？Shop open?", "pass_value": True},
                {"id": "facings", "kind": "number", "text": "主推商品排面数 Facings", "min": 0, "max": 30},
                {"id": "shelf", "kind": "photo", "text": "货架照片 Shelf photos", "min_count": 2},
            ],
        },
    )
    now = dt.datetime.now(dt.UTC).isoformat()
    for sku, qty in (("A-00001", 40), ("A-00002", 6), ("A-00003", 120), ("A-00004", 3)):
        body = {
            "org_id": dist["id"],
            "product_id": api.product(sku)["id"],
            "counted_qty": qty,
            "observed_at": now,
        }
        api.post("dist-north", "/stock/checks", body)
    api.shipped_purchase([("A-00006", 12), ("A-00007", 24)], note="DN-20451")
    _order, accepted = api.shipped_purchase([("A-00008", 10), ("A-00012", 6)], note="DN-20452")
    lines = api.get("inspector-north", f"/deliveries/{accepted['id']}")["lines"]
    api.post(
        "inspector-north",
        f"/deliveries/{accepted['id']}/acceptance",
        {
            "accepted_at": now,
            "lines": [
                {
                    "delivery_line_id": line["id"],
                    "accepted": line["qty"] - (2 if i == 0 else 0),
                    "short": 2 if i == 0 else 0,
                }
                for i, line in enumerate(lines)
            ],
        },
    )
    api.submitted_purchase([("A-00013", 30)])
    conv = api.post(
        "dist-north", "/conversations", {"kind": "direct", "member_ids": [api.user("supplier-a")["id"]]}
    )
    for who, body in (
        ("supplier-a", "下周一发货，请准备收货。We ship on Monday."),
        ("dist-north", "好的，谢谢！Thanks!"),
    ):
        api.post(
            who,
            f"/conversations/{conv['id']}/messages",
            {"client_message_id": uuid.uuid4().hex, "body": body},
        )
    api.post(
        "dist-north",
        "/support/conversations",
        {
            "subject": "到货短缺 Short delivery",
            "body": "DN-20452 少了两箱。Two cases missing.",
            "client_message_id": uuid.uuid4().hex,
        },
    )
    return api


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
    # an inspection in progress shows its questions; otherwise the templates come (not at once)
    page.get_by_test_id("question").or_(page.get_by_test_id("template")).first.wait_for()
    if page.get_by_test_id("template").count():
        page.get_by_test_id("template").filter(has_text="Store visit").first.click()
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
    browser: Any, server: ServerProcess, screens_data: Api, artifacts_dir: Path, username: str
) -> None:
    """Each role's screens in English, then the language switch, then the same in Chinese."""
    phone = open_phone(browser, server, username, locale="en-US")
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
