"""What a new user tripped over: finding suppliers and SKUs, 201 only for a creation, whole
messages from the support reply."""

from __future__ import annotations

from backend.db import new_id, utcnow
from tests.factories import auth_headers

MESSAGE_KEYS = {
    "id", "conversation_id", "seq", "sender_id", "client_message_id", "body", "attachments",
    "created_at", "edited_at", "deleted_at", "meta",
}  # fmt: skip


async def test_a_distributor_lists_the_suppliers_that_authorise_it(client, network):
    headers = await auth_headers(client, "dist-north")
    page = await client.get("/admin/organisations", params={"kind": "supplier"}, headers=headers)
    assert page.status_code == 200
    suppliers = {o["code"] for o in page.json()["items"]}
    assert "sup-a" in suppliers and suppliers <= {"sup-a", "sup-b"}
    one = await client.get(f"/admin/organisations/{network.org('sup-a').id}", headers=headers)
    assert (one.status_code, one.json()["kind"]) == (200, "supplier")
    # Another distributor is still not theirs to read.
    other = await client.get("/admin/organisations", params={"kind": "distributor"}, headers=headers)
    assert {o["id"] for o in other.json()["items"]} == {network.user("dist-north").org_id}


async def test_products_are_found_by_sku(client, network):
    headers = await auth_headers(client, "admin")
    found = await client.get("/admin/products", params={"sku": "A-00001"}, headers=headers)
    assert found.status_code == 200
    assert [p["sku"] for p in found.json()["items"]] == ["A-00001"]
    none = await client.get("/admin/products", params={"sku": "no-such-sku"}, headers=headers)
    assert none.json()["items"] == []


async def test_create_or_return_answers_201_when_it_created_and_200_when_it_existed(client, network):
    north = await auth_headers(client, "dist-north")
    check = {
        "id": new_id(),
        "org_id": network.org("dist-00").id,
        "product_id": network.products["A-00001"].id,
        "counted_qty": 4,
        "observed_at": utcnow().isoformat(),
    }
    first = await client.post("/stock/checks", json=check, headers=north)
    again = await client.post("/stock/checks", json=check, headers=north)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()

    order = {"id": new_id(), "kind": "purchase", "supplier_id": network.org("sup-a").id}
    made = await client.post("/orders", json=order, headers=north)
    repeat = await client.post("/orders", json=order, headers=north)
    assert (made.status_code, repeat.status_code) == (201, 200), repeat.text
    assert made.json()["id"] == repeat.json()["id"] == order["id"]

    support_open = {"subject": "Where is my delivery?", "body": "Order late", "client_message_id": "c1"}
    opened = await client.post("/support/conversations", json={**support_open, "id": new_id()}, headers=north)
    assert opened.status_code == 201, opened.text
    conv_id = opened.json()["id"]
    message = {"client_message_id": new_id(), "body": "any news?"}
    sent = await client.post(f"/conversations/{conv_id}/messages", json=message, headers=north)
    resent = await client.post(f"/conversations/{conv_id}/messages", json=message, headers=north)
    assert (sent.status_code, resent.status_code) == (201, 200)
    assert sent.json() == resent.json()


async def test_the_support_reply_returns_the_whole_message_like_the_chat_endpoint(client, network):
    customer = await auth_headers(client, "dist-north")
    agent = await auth_headers(client, "support")
    opened = await client.post(
        "/support/conversations",
        json={"subject": "Damaged cases", "body": "Three cases broken", "client_message_id": "c2"},
        headers=customer,
    )
    conv_id = opened.json()["id"]
    reply = {"body": "We are sending replacements", "client_message_id": "agent-1"}
    first = await client.post(f"/support/conversations/{conv_id}/reply", json=reply, headers=agent)
    assert first.status_code == 201, first.text
    assert set(first.json()) == MESSAGE_KEYS
    assert first.json()["body"] == reply["body"] and first.json()["conversation_id"] == conv_id
    again = await client.post(f"/support/conversations/{conv_id}/reply", json=reply, headers=agent)
    assert (again.status_code, again.json()) == (200, first.json())
    listed = await client.get(f"/conversations/{conv_id}/messages", headers=customer)
    assert first.json() in listed.json()
