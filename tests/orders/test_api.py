"""The orders, deliveries, acceptance and claims endpoints over HTTP."""

from __future__ import annotations

from backend.db import new_id
from tests.factories import auth_headers


async def test_purchase_order_over_http(client, network):
    dist = await auth_headers(client, "dist-north")
    sup = await auth_headers(client, "supplier-a")
    insp = await auth_headers(client, "inspector-north")
    other = await auth_headers(client, "dist-south")
    bev, snack = network.products["A-00001"].id, network.products["A-00002"].id
    oid = new_id()
    body = {
        "id": oid,
        "kind": "purchase",
        "supplier_id": network.org("sup-a").id,
        "lines": [{"product_id": bev, "qty": 4}],
    }
    r = await client.post("/orders", json=body, headers=dist)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["id"] == oid and order["state"] == "draft" and order["lines"][0]["qty"] == 4
    assert set(order["actions"]) == {"submit", "cancel"}
    r = await client.put(f"/orders/{oid}/lines/{snack}", json={"qty": 2}, headers=dist)
    assert r.status_code == 200 and len(r.json()["lines"]) == 2
    assert (await client.get(f"/orders/{oid}", headers=other)).json()["code"] == "order_not_found"
    r = await client.post(f"/orders/{oid}/confirm", headers=sup)
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    assert r.json()["details"]["state"] == "draft"
    r = await client.post(f"/orders/{oid}/submit", headers=dist)
    assert r.status_code == 200 and r.json()["state"] == "submitted" and r.json()["total_minor"] > 0
    r = await client.put(f"/orders/{oid}/lines/{snack}", json={"qty": 5}, headers=dist)
    assert r.status_code == 409 and r.json()["code"] == "order_not_editable"
    assert (await client.post(f"/orders/{oid}/confirm", headers=dist)).json()["code"] == "forbidden"
    assert (await client.post(f"/orders/{oid}/confirm", headers=sup)).json()["state"] == "confirmed"
    r = await client.post(f"/orders/{oid}/ship", json={"delivery_note": "DN-9"}, headers=sup)
    assert r.status_code == 201, r.text
    delivery = r.json()
    assert delivery["state"] == "in_transit" and len(delivery["lines"]) == 2
    listed = (await client.get("/deliveries?state=in_transit", headers=insp)).json()["items"]
    assert [d["id"] for d in listed] == [delivery["id"]]
    lines = [
        {"delivery_line_id": x["id"], "accepted": x["qty"] - 1, "damaged": 1}
        if i == 0
        else {"delivery_line_id": x["id"], "accepted": x["qty"]}
        for i, x in enumerate(delivery["lines"])
    ]
    accept = {
        "lines": lines,
        "notes": "one crushed",
        "gps": [52.0, 4.0],
        "signature_sha256": "a" * 64,
        "photo_sha256s": ["b" * 64],
    }
    r = await client.post(f"/deliveries/{delivery['id']}/acceptance", json=accept, headers=insp)
    assert r.status_code == 201, r.text
    record = r.json()
    assert record["has_discrepancy"] and record["gps"] == [52.0, 4.0]
    r = await client.post(
        f"/deliveries/{delivery['id']}/acceptance", json={**accept, "id": new_id()}, headers=dist
    )
    assert r.status_code == 409 and r.json()["code"] == "acceptance_exists"
    assert r.json()["details"]["id"] == record["id"]
    assert (await client.get(f"/orders/{oid}", headers=sup)).json()["state"] == "delivered"
    claims = (await client.get("/claims?state=open", headers=sup)).json()["items"]
    assert len(claims) == 1 and claims[0]["damaged_qty"] == 1
    assert (await client.get("/claims", headers=other)).json()["items"] == []
    r = await client.post(f"/claims/{claims[0]['id']}/resolve", json={"resolution": "credited"}, headers=sup)
    assert r.status_code == 200 and r.json()["state"] == "resolved"
    stored = (await client.get(f"/acceptances/{record['id']}", headers=sup)).json()
    assert sum(x["damaged"] for x in stored["lines"]) == 1
    assert (await client.get(f"/acceptances/{record['id']}", headers=other)).status_code == 404


async def test_bad_requests_get_clear_4xx(client, network):
    dist = await auth_headers(client, "dist-north")
    sup_id = network.org("sup-a").id
    bev = network.products["A-00001"].id
    cases = [
        ({"kind": "purchase", "supplier_id": sup_id, "lines": [{"product_id": bev, "qty": 0}]}, 400),
        ({"kind": "purchase", "supplier_id": sup_id, "id": "not-hex"}, 400),
        ({"kind": "purchase", "supplier_id": sup_id, "colour": "red"}, 400),
        ({"kind": "barter"}, 400),
        ({"kind": "purchase", "supplier_id": "0" * 32}, 404),
        ({"kind": "purchase", "supplier_id": sup_id, "lines": [{"product_id": "0" * 32, "qty": 1}]}, 422),
    ]
    for body, status in cases:
        r = await client.post("/orders", json=body, headers=dist)
        assert r.status_code == status, (body, r.text)
        assert set(r.json()) == {"code", "message", "details"}
    r = await client.post("/orders", json={"kind": "purchase", "supplier_id": sup_id}, headers=dist)
    oid = r.json()["id"]
    assert (await client.post(f"/orders/{oid}/submit", headers=dist)).json()["code"] == "order_empty"
    assert (await client.get("/orders?state=lost", headers=dist)).json()["code"] == "invalid_filter"
    assert (await client.get("/orders?limit=0", headers=dist)).status_code == 400
    assert (await client.get("/orders")).status_code == 401
    schema = (await client.get("/schema/openapi.json")).json()
    assert {"/orders", "/deliveries/{delivery_id}/acceptance", "/claims/{claim_id}/resolve"} <= set(
        schema["paths"]
    )
    r = await client.post(f"/orders/{oid}/reject", json={"reason": ""}, headers=dist)
    assert r.status_code == 400
    r = await client.post(
        "/deliveries/" + "0" * 32 + "/acceptance", json={"lines": [{"accepted": 1}]}, headers=dist
    )
    assert r.status_code == 404 and r.json()["code"] == "delivery_not_found"


async def test_list_orders_pages_with_a_cursor(client, network):
    dist = await auth_headers(client, "dist-north")
    sup_id = network.org("sup-a").id
    made = [
        (await client.post("/orders", json={"kind": "purchase", "supplier_id": sup_id}, headers=dist)).json()[
            "id"
        ]
        for _ in range(3)
    ]
    seen, cursor = [], None
    while True:
        url = "/orders?kind=purchase&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=dist)).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(made)
