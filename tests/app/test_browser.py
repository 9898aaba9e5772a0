"""The mobile workbench in a phone-sized Chromium against a real server, with the network cut.

A field rep's visit and an inspector's acceptance done offline through the SDK's outbox (back
online the server holds each thing exactly once, the photos verify by hash, other phones see the
result live); a purchase order past the quota placed offline comes back refused in plain words on
that order (with a fix); a supplier confirming and shipping is seen live on the distributor's
phone; a reload with no network still opens the app and keeps its outbox.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from playwright.sync_api import expect

from tests.app.conftest import Api, jpeg, open_phone

QUOTA_SKU = "A-00011"  # a beverages SKU of Supplier A that dist-00 may buy


def test_offline_field_visit_counts_order_and_inspection(browser, server, api: Api) -> None:
    dist = api.org("dist-00")
    shop = api.shops("dist-00")[0]
    field = api.user("field-north")
    api.post("dist-north", "/routes", {"user_id": field["id"], "terminal_id": shop["id"]})
    template = api.post(
        "dist-north",
        "/inspection-templates",
        {
            "owner_id": dist["id"],
            "title": "Store visit (test)",
            "questions": [
                {
                    "id": "clean",
                    "kind": "yes_no",
                    "text": "Is the shelf clean?",
                    "pass_value": True,
                    "weight": 1,
                },
                {"id": "shelf", "kind": "photo", "text": "Photos of the shelf", "min_count": 2},
            ],
        },
    )
    counted, ordered = api.product("A-00001"), api.product("A-00002")

    rep = open_phone(browser, server, "field-north")
    rep.page.get_by_test_id("tab-route").click()
    rep.page.get_by_test_id("route-stop").filter(has_text=shop["name"]).click()
    expect(rep.page.get_by_test_id("visit")).to_be_visible()
    visit_path = rep.page.evaluate("location.pathname").removeprefix("/app")
    # A second phone of the same distributor watches the shop's shelf.
    watcher = open_phone(browser, server, "dist-north", path=visit_path)

    rep.offline()
    page = rep.page
    expect(page.get_by_test_id("net")).to_have_text("Offline")
    # shelf count
    page.get_by_test_id("count-search").fill(counted["sku"])
    page.get_by_test_id("pick-product").first.click()
    page.get_by_test_id("count-qty").locator("input").fill("7")
    page.get_by_test_id("count-save").click()
    expect(
        page.get_by_test_id("stock-row").filter(has_text=counted["sku"]).get_by_test_id("stock-qty")
    ).to_have_text("7")
    # a sales order
    page.get_by_test_id("visit-tab-order").click()
    page.get_by_test_id("order-search").fill(ordered["sku"])
    page.get_by_test_id("pick-product").first.click()
    page.get_by_test_id("draft-line").locator("input").fill("3")
    page.get_by_test_id("place-sales-order").click()
    expect(page.get_by_test_id("order")).to_be_visible()
    order_id = page.evaluate("location.pathname").rsplit("/", 1)[-1]
    expect(page.get_by_test_id("order-state")).to_contain_text("Submitted")
    page.go_back()
    # an inspection with two photos (the photo question asks for two: submit waits for them)
    page.get_by_test_id("visit-tab-inspection").click()
    page.get_by_test_id("template").filter(has_text="Store visit (test)").click()
    page.get_by_test_id("answer-yes").click()
    submit = page.get_by_test_id("submit-inspection")
    expect(submit).to_be_disabled()
    photos = [jpeg((200, 40, 40)), jpeg((40, 160, 60))]
    # the yes/no answer leaves the list once its optimistic row lands (a strict locator does not wait)
    expect(page.get_by_test_id("missing-item")).to_have_count(1)
    expect(page.get_by_test_id("missing-item")).to_have_text("2 more photos: Photos of the shelf")
    # One photo, then the second: the reminder counts what is still missing.
    for i, b in enumerate(photos):
        page.get_by_test_id("photo-input").set_input_files(
            [{"name": f"shelf-{i}.jpg", "mimeType": "image/jpeg", "buffer": b}]
        )
        expect(page.get_by_test_id("photo-count")).to_contain_text(f"{i + 1} of 2")
        if i == 0:
            expect(page.get_by_test_id("missing-item")).to_have_text("1 more photo: Photos of the shelf")
    expect(page.get_by_test_id("missing-item")).to_have_count(0)
    expect(submit).to_be_enabled()
    submit.click()
    expect(page.get_by_test_id("inspection")).to_have_attribute("data-status", "submitted")
    waiting = int(page.get_by_test_id("pending").get_attribute("data-n") or 0)
    assert waiting >= 8, waiting  # count, order (2), start, 3 answers, 2 attaches, submit, photos

    # Nothing reached the server while offline.
    assert api.items("dist-north", "/stock/checks", org_id=shop["id"], product_id=counted["id"]) == []

    rep.offline(False)
    rep.synced()
    expect(page.get_by_test_id("score")).to_be_visible(timeout=15_000)
    # the other phone saw the count arrive without reloading
    expect(
        watcher.page.get_by_test_id("stock-row").filter(has_text=counted["sku"]).get_by_test_id("stock-qty")
    ).to_have_text("7", timeout=15_000)

    checks = api.items("dist-north", "/stock/checks", org_id=shop["id"], product_id=counted["id"])
    assert [c["counted_qty"] for c in checks] == [7]
    sales = [
        o
        for o in api.items("dist-north", "/orders", kind="sales", terminal_id=shop["id"])
        if o["id"] == order_id
    ]
    assert len(sales) == 1 and sales[0]["state"] == "submitted"
    assert (
        len(
            [
                o
                for o in api.items("dist-north", "/orders", kind="sales", terminal_id=shop["id"])
                if o["created_by"] == field["id"]
            ]
        )
        == 1
    )
    inspections = api.items("dist-north", "/inspections", terminal_id=shop["id"], template_id=template["id"])
    assert len(inspections) == 1 and inspections[0]["status"] == "submitted"
    assert inspections[0]["score_pct"] == 100.0
    detail = api.get("dist-north", f"/inspections/{inspections[0]['id']}")
    shas = next(a["value"] for a in detail["answers"] if a["question_id"] == "shelf")
    assert sorted(shas) == sorted(hashlib.sha256(b).hexdigest() for b in photos)
    for sha in shas:
        r = api.http.get(f"/media/photos/{sha}/original", headers=api.headers("dist-north"))
        assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == sha
    assert not rep.errors and not watcher.errors, rep.errors + watcher.errors
    rep.context.close()
    watcher.context.close()


def test_offline_acceptance_with_a_short_line_opens_a_claim(browser, server, api: Api) -> None:
    _order, delivery = api.shipped_purchase([("A-00003", 10), ("A-00008", 4)], note="DN-APP-1")
    short_sku = "A-00003"

    inspector = open_phone(browser, server, "inspector-north")
    page = inspector.page
    # The phone knows where it is (GPS works without a network): the acceptance carries it.
    inspector.context.grant_permissions(["geolocation"], origin=server.url)
    inspector.context.set_geolocation({"latitude": 31.230416, "longitude": 121.473701, "accuracy": 8})
    page.get_by_test_id("tab-deliveries").click()
    expect(page.locator(f'[data-testid=delivery][data-id="{delivery["id"]}"]')).to_be_visible()
    inspector.offline()
    page.locator(f'[data-testid=delivery][data-id="{delivery["id"]}"]').click()
    line = page.locator(f'[data-testid=accept-line][data-sku="{short_sku}"]')
    line.get_by_test_id("line-short").locator("input").fill("2")
    expect(line.get_by_test_id("line-accepted").locator("input")).to_have_value("8")
    photos = [jpeg((30, 30, 200)), jpeg((220, 200, 30))]
    page.get_by_test_id("acceptance-photos").set_input_files(
        [{"name": f"box-{i}.jpg", "mimeType": "image/jpeg", "buffer": b} for i, b in enumerate(photos)]
    )
    # the thumbnails move the signature pad down: draw once they are on the screen
    expect(page.locator(".photos img")).to_have_count(2)
    submit = page.get_by_test_id("submit-acceptance")
    expect(submit).to_be_disabled()  # no signature yet
    expect(page.get_by_test_id("gps-state")).to_have_attribute("data-gps", "1")
    pad = page.get_by_test_id("signature")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box
    page.mouse.move(box["x"] + 20, box["y"] + 40)
    page.mouse.down()
    for i in range(1, 12):
        page.mouse.move(box["x"] + 20 + i * 22, box["y"] + 40 + (30 if i % 2 else -10))
    page.mouse.up()
    expect(submit).to_be_enabled()
    submit.click()
    expect(page.get_by_test_id("receipt")).to_be_visible()
    expect(page.get_by_test_id("receipt")).to_contain_text(
        "Sealed in the evidence log when it reaches the server"
    )

    expect(page.get_by_test_id("receipt-gps")).to_have_text("31.23042, 121.47370")

    inspector.offline(False)
    inspector.synced()
    expect(page.get_by_test_id("evidence")).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("receipt-claim")).to_be_visible()
    # The proof is kept on the phone: offline again, a reloaded receipt still shows it.
    index = page.get_by_test_id("evidence-index").inner_text()
    inspector.offline()
    page.reload()
    expect(page.get_by_test_id("evidence-index")).to_have_text(index)
    inspector.offline(False)

    claims = [c for c in api.items("supplier-a", "/claims") if c["delivery_id"] == delivery["id"]]
    assert len(claims) == 1 and claims[0]["state"] == "open" and claims[0]["short_qty"] == 2
    acceptance = api.get("supplier-a", f"/acceptances/{claims[0]['acceptance_id']}")
    assert sorted(acceptance["photo_sha256s"]) == sorted(hashlib.sha256(b).hexdigest() for b in photos)
    assert acceptance["signature_sha256"]
    assert acceptance["gps"] == [31.230416, 121.473701]
    sig = api.http.get(
        f"/media/photos/{acceptance['signature_sha256']}/original", headers=api.headers("supplier-a")
    )
    assert sig.status_code == 200 and sig.content.startswith(b"\x89PNG")
    # The supplier's phone lists the claim and resolves it offline; back online it is settled.
    supplier = open_phone(browser, server, "supplier-a", path="/claims")
    card = supplier.page.locator(f'[data-testid=claim][data-id="{claims[0]["id"]}"]')
    expect(card).to_have_attribute("data-state", "open")
    supplier.offline()
    holder = supplier.page.locator("section.card").filter(has=card)
    holder.get_by_test_id("resolve-claim").click()
    holder.get_by_test_id("resolution").fill("Credit note CN-77 for 2 cases")
    holder.get_by_test_id("resolve-send").click()
    expect(card).to_have_attribute("data-state", "resolved")
    expect(card).to_contain_text("waiting to sync")
    expect(supplier.page.get_by_test_id("pending")).to_have_attribute("data-n", "1")
    assert api.get("supplier-a", f"/claims/{claims[0]['id']}")["state"] == "open"
    supplier.offline(False)
    supplier.synced()
    held = api.get("supplier-a", f"/claims/{claims[0]['id']}")
    assert held["state"] == "resolved" and held["resolution"] == "Credit note CN-77 for 2 cases"
    # ... and the inspector's phone sees the outcome live.
    page.goto(f"{server.url}/app/claims")
    expect(page.locator(f'[data-testid=claim][data-id="{claims[0]["id"]}"]')).to_have_attribute(
        "data-state", "resolved", timeout=15_000
    )
    assert not inspector.errors and not supplier.errors, inspector.errors + supplier.errors
    inspector.context.close()
    supplier.context.close()


def test_order_past_quota_offline_is_refused_on_that_order(browser, server, api: Api) -> None:
    dist, product = api.org("dist-00"), api.product(QUOTA_SKU)
    today = dt.date.today()
    api.post(
        "admin",
        "/admin/quotas",
        {
            "supplier_id": api.org("sup-a")["id"],
            "distributor_id": dist["id"],
            "region_id": dist["region_id"],
            "product_id": product["id"],
            "period_start": today.replace(day=1).isoformat(),
            "period_end": (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1).isoformat(),
            "limit_qty": 5,
        },
    )
    phone = open_phone(browser, server, "dist-north", path="/catalog")
    page = phone.page
    page.get_by_placeholder("Search name or SKU").fill(QUOTA_SKU)
    row = page.locator(f'[data-testid=product][data-sku="{QUOTA_SKU}"]')
    expect(row.get_by_test_id("quota-left")).to_have_text("quota left 5")
    phone.offline()
    row.get_by_test_id("add").click()
    row.locator("input").fill("8")
    page.get_by_test_id("go-cart").click()
    expect(page.get_by_test_id("cart")).to_contain_text("More than the 5 left")
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("order-state")).to_contain_text("Submitted")
    order_id = page.evaluate("location.pathname").rsplit("/", 1)[-1]

    phone.offline(False)
    problem = page.get_by_test_id("problem")
    expect(problem).to_have_attribute("data-code", "quota_exceeded", timeout=20_000)
    expect(problem.get_by_test_id("problem-text")).to_have_text("Quota exceeded: only 5 left this month.")
    expect(page.get_by_test_id("order-state")).to_contain_text("Draft")  # what the server holds
    expect(page.get_by_test_id("problems")).to_have_attribute("data-n", "1")
    assert api.get("dist-north", f"/orders/{order_id}")["state"] == "draft"
    # The fix: take what the quota allows and submit again.
    problem.get_by_role("button", name="Reduce to what is left and submit again").click()
    expect(page.get_by_test_id("order-state")).to_contain_text("Submitted", timeout=20_000)
    phone.synced()
    expect(page.get_by_test_id("problem")).to_have_count(0)
    held = api.get("dist-north", f"/orders/{order_id}")
    assert held["state"] == "submitted" and [line["qty"] for line in held["lines"]] == [5]
    assert not phone.errors, phone.errors
    phone.context.close()


def test_supplier_confirms_and_ships_the_distributor_sees_it_live(browser, server, api: Api) -> None:
    order = api.submitted_purchase([("A-00006", 4)])
    distributor = open_phone(browser, server, "dist-north", path=f"/orders/{order['id']}")
    expect(distributor.page.get_by_test_id("order-state")).to_contain_text("Submitted")
    supplier = open_phone(browser, server, "supplier-a", path="/incoming")
    row = supplier.page.locator(f'[data-testid=order-row][data-id="{order["id"]}"]')
    # The buyer by name: the supplier's replica holds its distributors' organisation cards.
    buyer_id = api.user("dist-north")["org_id"]
    buyer = next(o for o in api.items("admin", "/admin/organisations") if o["id"] == buyer_id)
    expect(row).to_contain_text(buyer["name"])
    row.click()
    supplier.page.get_by_test_id("confirm-order").click()
    expect(distributor.page.get_by_test_id("order-state")).to_contain_text("Confirmed", timeout=15_000)
    supplier.page.get_by_test_id("ship-order").click()
    supplier.page.get_by_test_id("delivery-note").fill("DN-LIVE-7")
    supplier.page.get_by_test_id("ship-send").click()
    expect(distributor.page.get_by_test_id("order-state")).to_contain_text("Shipped", timeout=15_000)
    expect(distributor.page.get_by_test_id("order")).to_contain_text("DN-LIVE-7")
    supplier.synced()
    assert api.get("dist-north", f"/orders/{order['id']}")["state"] == "shipped"
    assert not distributor.errors and not supplier.errors, distributor.errors + supplier.errors
    distributor.context.close()
    supplier.context.close()


def test_chat_and_a_ticket_written_offline_arrive_live_once_back_online(browser, server, api: Api) -> None:
    conv = api.post(
        "dist-north", "/conversations", {"kind": "direct", "member_ids": [api.user("supplier-a")["id"]]}
    )
    writer = open_phone(browser, server, "dist-north", path=f"/chat/{conv['id']}")
    reader = open_phone(browser, server, "supplier-a", path=f"/chat/{conv['id']}")
    expect(reader.page.get_by_test_id("chat-thread")).to_be_visible()
    expect(reader.page.get_by_test_id("net")).to_have_attribute("data-live", "1", timeout=15_000)
    writer.offline()
    text = "The van is late: two hours (written offline)"
    writer.page.get_by_test_id("chat-input").fill(text)
    writer.page.get_by_test_id("chat-send").click()
    mine = writer.page.get_by_test_id("message").filter(has_text=text)
    expect(mine).to_have_attribute("data-pending", "1")
    expect(mine).to_contain_text("waiting to sync")
    # A support ticket opened offline too: it shows at once, as waiting.
    writer.go("/chat")
    writer.page.get_by_test_id("new-ticket").click()
    subject, body = "Pallet 3 wet (offline)", "The bottom layer of pallet 3 is soaked."
    writer.page.get_by_test_id("ticket-subject").fill(subject)
    writer.page.get_by_test_id("ticket-body").fill(body)
    writer.page.get_by_test_id("ticket-send").click()
    expect(writer.page.get_by_test_id("message").filter(has_text=body)).to_have_attribute("data-pending", "1")
    expect(writer.page.get_by_test_id("pending")).to_have_attribute("data-n", "2")
    # Nothing left the phone.
    assert text not in [m["body"] for m in api.get("supplier-a", f"/conversations/{conv['id']}/messages")]
    assert subject not in [c["title"] for c in api.get("dist-north", "/conversations")]
    expect(reader.page.get_by_test_id("message").filter(has_text=text)).to_have_count(0)

    writer.offline(False)
    # The other phone, online all along, gets the message live (a pull on the socket's hint).
    expect(reader.page.get_by_test_id("message").filter(has_text=text)).to_have_count(1, timeout=15_000)
    writer.synced()
    expect(writer.page.get_by_test_id("message").filter(has_text=body)).to_have_attribute("data-pending", "0")
    bodies = [m["body"] for m in api.get("supplier-a", f"/conversations/{conv['id']}/messages")]
    assert bodies.count(text) == 1
    tickets = [c for c in api.get("dist-north", "/conversations") if c["title"] == subject]
    assert len(tickets) == 1 and tickets[0]["kind"] == "support" and tickets[0]["status"] == "waiting"
    assert [m["body"] for m in api.get("dist-north", f"/conversations/{tickets[0]['id']}/messages")] == [body]
    assert not writer.errors and not reader.errors, writer.errors + reader.errors
    writer.context.close()
    reader.context.close()


def test_reload_while_offline_opens_and_keeps_the_outbox(browser, server, api: Api) -> None:
    dist, product = api.org("dist-00"), api.product("A-00016")
    counted = {
        "org_id": dist["id"],
        "product_id": product["id"],
        "observed_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    api.post("dist-north", "/stock/checks", {**counted, "counted_qty": 30})
    phone = open_phone(browser, server, "dist-north", path="/stock")
    page = phone.page
    # the service worker controls the page once it is installed: the shell is cached
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15_000)
    sku = product["sku"]
    row = page.locator(f'[data-testid=stock-row][data-sku="{sku}"]')
    phone.offline()
    row.get_by_role("button", name="Count").click()
    row.locator("input").fill("42")
    row.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("pending")).to_have_attribute("data-n", "1")
    page.reload()
    expect(page.get_by_test_id("net")).to_have_text("Offline")
    expect(page.get_by_test_id("pending")).to_have_attribute("data-n", "1")
    expect(
        page.locator(f'[data-testid=stock-row][data-sku="{sku}"]').get_by_test_id("stock-qty")
    ).to_have_text("42")
    phone.offline(False)
    phone.synced()
    checks = api.items("dist-north", "/stock/checks", org_id=dist["id"], product_id=product["id"])
    assert sorted(c["counted_qty"] for c in checks) == [30, 42]
    assert not phone.errors, phone.errors
    phone.context.close()


def test_a_repeated_push_is_shown_once_by_the_service_worker(browser, server) -> None:
    """At-least-once delivery can bring the same push twice (docs/operations.md): the service
    worker's push handler (SDK SeenPushes, in IndexedDB) shows it and tells the page once."""
    import json

    phone = open_phone(browser, server, "dist-north", permissions=["notifications"])
    page = phone.page
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15_000)
    page.evaluate(
        "() => { window.pushesHeard = []; navigator.serviceWorker.addEventListener('message',"
        " e => { if (e.data && e.data.type === 'push') window.pushesHeard.push(e.data.pushId); }); }"
    )
    cdp = phone.context.new_cdp_session(page)
    registrations: list[str] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(r["registrationId"] for r in e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    page.wait_for_timeout(300)
    assert registrations, "no service worker registration seen over CDP"

    def deliver(push_id: str, body: str) -> None:  # what FCM web push hands the service worker
        data = {"kind": "chat", "push_id": push_id, "conversation_id": "c1"}
        payload = {"data": data, "notification": {"title": "Anna", "body": body}}
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": server.url, "registrationId": registrations[-1], "data": json.dumps(payload)},
        )

    deliver("41", "Truck at gate 3")
    deliver("41", "Truck at gate 3")  # the repeat, after a worker died inside its window
    deliver("42", "Unloading now")
    page.wait_for_function("window.pushesHeard.length >= 2", timeout=10_000)
    page.wait_for_timeout(500)  # a third message, were the repeat let through, would be here by now
    assert page.evaluate("window.pushesHeard") == ["41", "42"]
    shown = page.evaluate(
        "async () => (await (await navigator.serviceWorker.ready).getNotifications()).map(n => n.body)"
    )
    assert sorted(shown) == ["Truck at gate 3", "Unloading now"]
    assert not phone.errors, phone.errors
    phone.context.close()


# The screenshots run here, on this module's server, after the scenarios above (which expect the
# network as seeded): pytest collects tests in the order the module defines them.
from tests.app.screens import screens_data, test_screenshots_of_every_main_screen  # noqa: E402

__all__ = ["screens_data", "test_screenshots_of_every_main_screen"]
