"""Orders and deliveries get numbers people can read aloud, across the API; the console's
customer panel and read-only order view show them."""

from __future__ import annotations

import re

from backend.db import new_id
from tests.factories import auth_headers

NUMBER = re.compile(r"^(PO|SO|DN)-\d{4}-\d{6}$")


async def test_order_and_delivery_numbers(client, network) -> None:
    dist = await auth_headers(client, "dist-north")
    sup = await auth_headers(client, "supplier-a")
    agent = await auth_headers(client, "support")
    bev = network.products["A-00001"].id
    numbers = []
    ids = []
    for _ in range(2):
        body = {"id": new_id(), "kind": "purchase", "supplier_id": network.org("sup-a").id,
                "lines": [{"product_id": bev, "qty": 3}]}  # fmt: skip
        r = await client.post("/orders", json=body, headers=dist)
        assert r.status_code == 201, r.text
        numbers.append(r.json()["number"])
        ids.append(r.json()["id"])
    assert all(NUMBER.match(n) and n.startswith("PO-") for n in numbers), numbers
    assert int(numbers[1][-6:]) == int(numbers[0][-6:]) + 1
    assert (await client.get(f"/orders/{ids[0]}", headers=dist)).json()["number"] == numbers[0]
    await client.post(f"/orders/{ids[0]}/submit", headers=dist)
    await client.post(f"/orders/{ids[0]}/confirm", headers=sup)
    shipped = await client.post(f"/orders/{ids[0]}/ship", json={"delivery_note": "truck 4"}, headers=sup)
    assert shipped.status_code == 201, shipped.text
    delivery = shipped.json()
    assert delivery["number"].startswith("DN-") and NUMBER.match(delivery["number"])
    # The console's read-only order view (agents only; another role gets 403, a wrong id 404).
    view = await client.get(f"/support/orders/{ids[0]}", headers=agent)
    assert view.status_code == 200, view.text
    assert view.json()["number"] == numbers[0] and view.json()["delivery"]["number"] == delivery["number"]
    assert view.json()["lines"][0]["qty"] == 3
    assert (await client.get(f"/support/orders/{ids[0]}", headers=dist)).status_code == 403
    opened = await client.post(
        "/support/conversations",
        json={"subject": "Where is it", "body": "?", "client_message_id": "o1"},
        headers=dist,
    )
    ctx = await client.get(f"/support/conversations/{opened.json()['id']}/context", headers=agent)
    assert numbers[0] in {o["number"] for o in ctx.json()["recent_orders"]}
    assert ctx.json()["device"]["platform"] == "android"
