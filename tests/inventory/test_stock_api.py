"""Stock over REST: recording, listing with filters and cursors, isolation, error shapes."""

from __future__ import annotations

from backend.db import new_id
from backend.inventory import record_movement
from tests.factories import auth_headers
from tests.inventory.helpers import at


async def test_stock_checks_over_rest(client, session_factory, network):
    north = await auth_headers(client, "dist-north")
    south = await auth_headers(client, "dist-south")
    warehouse = network.org("dist-00").id
    skus = [network.products[f"A-0000{i}"].id for i in (1, 2, 3)]
    async with session_factory() as session:
        await record_movement(
            session, org_id=warehouse, product_id=skus[0], qty_delta=5, reason="delivery", ref_id="acc-1",
            occurred_at=at(-60),
        )  # fmt: skip
        await session.commit()
    check_id = new_id()
    body = {
        "id": check_id,
        "org_id": warehouse,
        "product_id": skus[0],
        "counted_qty": 12,
        "observed_at": at(0).isoformat(),
    }
    first = await client.post("/stock/checks", json=body, headers=north)
    assert first.status_code == 201, first.text
    assert first.json()["id"] == check_id and first.json()["expected_qty"] is None
    again = await client.post("/stock/checks", json=body, headers=north)
    assert again.status_code == 200 and again.json()["id"] == check_id  # existed: returned, not created
    for sku in skus[1:]:
        r = await client.post(
            "/stock/checks",
            json={"org_id": warehouse, "product_id": sku, "counted_qty": 3, "observed_at": at(5).isoformat()},
            headers=north,
        )
        assert r.status_code == 201, r.text

    page = (await client.get("/stock/levels", params={"limit": 2}, headers=north)).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = (
        await client.get("/stock/levels", params={"limit": 2, "cursor": page["next_cursor"]}, headers=north)
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert {i["product_id"] for i in page["items"] + rest["items"]} == set(skus)
    low = (await client.get("/stock/levels", params={"below": 5, "org_id": warehouse}, headers=north)).json()
    assert {i["product_id"] for i in low["items"]} == set(skus[1:])
    history = (await client.get("/stock/checks", params={"product_id": skus[0]}, headers=north)).json()
    assert [c["id"] for c in history["items"]] == [check_id]

    # isolation: another distributor and another supplier see nothing, the owning supplier sees its SKUs
    assert (await client.get("/stock/levels", headers=south)).json()["items"] == []
    assert (await client.get("/stock/checks", headers=south)).json()["items"] == []
    assert (await client.get("/stock/movements", headers=south)).json()["items"] == []
    moves = (await client.get("/stock/movements", params={"reason": "delivery"}, headers=north)).json()[
        "items"
    ]
    assert [(m["ref_id"], m["qty_delta"]) for m in moves] == [("acc-1", 5)]
    missing = await client.get(f"/stock/checks/{check_id}", headers=south)
    assert missing.status_code == 404 and missing.json()["code"] == "stock_check_not_found"
    supplier_b = await auth_headers(client, "supplier-b")
    assert (await client.get("/stock/levels", headers=supplier_b)).json()["items"] == []
    supplier_a = await auth_headers(client, "supplier-a")
    assert len((await client.get("/stock/levels", headers=supplier_a)).json()["items"]) == 3
    refused = await client.post("/stock/checks", json=body | {"id": new_id()}, headers=south)
    assert refused.status_code == 404 and refused.json()["code"] == "stock_location_not_found"


async def test_bad_stock_requests(client, network):
    north = await auth_headers(client, "dist-north")
    good = {
        "org_id": network.org("dist-00").id,
        "product_id": network.products["A-00001"].id,
        "counted_qty": 1,
        "observed_at": at(0).isoformat(),
    }
    cases = [
        (good | {"counted_qty": -1}, 400, "invalid_request"),
        (good | {"colour": "red"}, 400, "invalid_request"),
        (good | {"id": "short"}, 400, "invalid_request"),
        (good | {"observed_at": "2026-11-01T09:00:00"}, 422, "invalid_observed_at"),
        (good | {"product_id": new_id()}, 404, "product_not_found"),
        (good | {"org_id": network.org("sup-a").id}, 422, "invalid_stock_location"),
    ]
    for body, status, code in cases:
        r = await client.post("/stock/checks", json=body, headers=north)
        assert (r.status_code, r.json()["code"]) == (status, code), (body, r.text)
    r = await client.get("/stock/levels", params={"limit": 0}, headers=north)
    assert r.status_code == 400
    r = await client.get("/stock/checks", params={"since": "2026-11-01T09:00:00"}, headers=north)
    assert (r.status_code, r.json()["code"]) == (400, "invalid_since")
    r = await client.get("/stock/checks", params={"since": "2026-11-01T09:00:00Z"}, headers=north)
    assert r.status_code == 200
    r = await client.get("/stock/movements", params={"reason": "theft"}, headers=north)
    assert (r.status_code, r.json()["code"]) == (400, "invalid_reason")
    assert (await client.get("/stock/levels")).status_code == 401
