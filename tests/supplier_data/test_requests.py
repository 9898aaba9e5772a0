"""Requests from a distributor to a supplier through their states, over REST and sync, with the
history both sides see, a push to the other side on each step, figures, and isolation."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from backend.db import new_id
from backend.notifications.models import PushOutbox
from tests.factories import auth_headers
from tests.media.helpers import upload_photo
from tests.media.images import photo
from tests.sync.helpers import signed_in_phone, wait_for_watermark

SHOT = photo(41)
PHOTO = hashlib.sha256(SHOT).hexdigest()
LATER = photo(42)


async def test_a_request_through_its_states(client, session_factory, network):
    north = await auth_headers(client, "dist-north")
    south = await auth_headers(client, "dist-south", client_id="south")
    sup_a = network.org("sup-a")
    a_web = await auth_headers(client, "supplier-a", client_id="a-web")
    assert (await upload_photo(client, north, SHOT)).status_code == 201
    later = hashlib.sha256(LATER).hexdigest()
    filed = await client.post(
        "/supplier-requests",
        json={"supplier_id": sup_a.id, "kind": "complaint", "title": "Crushed cartons in the last delivery",
              "body": "6 of 24 crushed", "photo_sha256s": [PHOTO, later]},
        headers=north,
    )  # fmt: skip
    assert filed.status_code == 201, filed.text
    request = filed.json()
    assert (request["status"], [e["action"] for e in request["events"]]) == ("open", ["filed"])
    # the photo uploaded before filing is the supplier's to see; the later one once it is attached
    assert (await client.get(f"/media/photos/{PHOTO}", headers=a_web)).status_code == 200
    assert (await client.get(f"/media/photos/{later}", headers=a_web)).status_code == 404
    assert (await client.get(f"/media/photos/{PHOTO}", headers=south)).status_code == 404
    assert (await upload_photo(client, north, LATER)).status_code == 201
    bad = await client.post(
        "/supplier-requests", json={"supplier_id": sup_a.id, "kind": "gift", "title": "x"}, headers=north
    )
    assert bad.status_code == 400
    assert (await client.get(f"/supplier-requests/{request['id']}", headers=south)).status_code == 404
    assert (await client.get("/supplier-requests", headers=south)).json()["items"] == []
    # only the supplier answers; the distributor may comment
    refused = await client.post(
        f"/supplier-requests/{request['id']}/actions", json={"action": "accept"}, headers=north
    )
    assert refused.status_code == 403
    commented = await client.post(
        f"/supplier-requests/{request['id']}/actions", json={"action": "comment", "note": "photos attached"},
        headers=north,
    )  # fmt: skip
    assert commented.json()["status"] == "open"
    assert (await client.get(f"/media/photos/{later}", headers=a_web)).status_code == 200

    supplier = await signed_in_phone(client, "supplier-a")
    await wait_for_watermark(session_factory)
    await supplier.pull()
    pulled = {i: d for (_s, e, i), (_v, d) in supplier.rows().items() if e == "supplier_request"}
    assert pulled[request["id"]]["photo_sha256s"] == [PHOTO, later]
    early = supplier.mutate("request.act", {"request_id": request["id"], "action": "deliver"})
    answer = supplier.mutate(
        "request.act", {"request_id": request["id"], "action": "answer", "note": "Sorry: credit coming"}
    )
    accept = supplier.mutate("request.act", {"request_id": request["id"], "action": "accept"})
    deliver = supplier.mutate(
        "request.act", {"request_id": request["id"], "action": "deliver", "note": "credit note 17"}
    )
    decline = supplier.mutate(
        "request.act", {"request_id": request["id"], "action": "decline", "note": "late"}
    )
    await supplier.push_all()
    assert supplier.result(early)["code"] == "request_state"
    assert [supplier.result(m)["data"]["status"] for m in (answer, accept, deliver)] == [
        "answered",
        "accepted",
        "delivered",
    ]
    assert supplier.result(decline)["code"] == "request_state"

    seen = (await client.get(f"/supplier-requests/{request['id']}", headers=north)).json()
    assert [(e["action"], e["status"]) for e in seen["events"]] == [
        ("filed", "open"), ("comment", "open"), ("answer", "answered"), ("accept", "accepted"),
        ("deliver", "delivered"),
    ]  # fmt: skip
    assert seen["first_answered_at"] is not None and seen["closed_at"] is not None

    # the distributor files offline too, through sync
    phone = await signed_in_phone(client, "dist-north", client_id="north-phone")
    idea = phone.mutate(
        "request.file",
        {"id": new_id(), "supplier_id": sup_a.id, "kind": "new_sku", "title": "A 6-pack of A-00001"},
    )
    await phone.push_all()
    assert phone.result(idea)["data"]["status"] == "open"
    declined = await client.post(
        f"/supplier-requests/{phone.result(idea)['data']['request_id']}/actions",
        json={"action": "decline", "note": "not this year"},
        headers=a_web,
    )
    assert declined.json()["status"] == "declined"

    async with session_factory() as session:
        pushes = (await session.execute(select(PushOutbox.user_id, PushOutbox.title))).all()
    users = {network.user(u).id: u for u in ("dist-north", "supplier-a")}
    to_supplier = [t for u, t in pushes if users.get(u) == "supplier-a"]
    to_distributor = [t for u, t in pushes if users.get(u) == "dist-north"]
    assert len(to_supplier) == 3  # filed, comment, filed (the new SKU)
    assert len(to_distributor) == 4  # answered, accepted, delivered, declined
    assert any(t.startswith("Request delivered") for t in to_distributor)

    figures = (await client.get("/workbench/distributor", headers=north)).json()["requests"]
    counts = tuple(figures[k] for k in ("requests", "open", "met", "declined", "share_met"))
    assert counts == (2, 0, 1, 1, 0.5)
    assert figures["median_hours_to_answer"] is not None
