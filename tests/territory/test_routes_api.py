"""Routes over REST: assign, list, unassign, isolation."""

from __future__ import annotations

from tests.factories import auth_headers
from tests.inventory.helpers import terminal_of


async def test_routes_over_rest(client, network):
    north = await auth_headers(client, "dist-north")
    south = await auth_headers(client, "dist-south", client_id="south")
    field = await auth_headers(client, "field-north", client_id="field")
    user_id = network.user("field-north").id
    shop = terminal_of(network, "dist-00")
    r = await client.post("/routes", json={"user_id": user_id, "terminal_id": shop.id}, headers=north)
    assert r.status_code == 201, r.text
    r = await client.post("/routes", json={"user_id": user_id, "terminal_id": shop.id}, headers=south)
    assert (r.status_code, r.json()["code"]) == (404, "terminal_not_found")  # not yours looks missing
    mine = (await client.get("/routes", headers=field)).json()["items"]
    assert [a["terminal_id"] for a in mine] == [shop.id]
    assert (await client.get("/routes", headers=south)).json()["items"] == []
    assert (await client.delete(f"/routes/{user_id}/{shop.id}", headers=south)).status_code == 404
    assert (await client.delete(f"/routes/{user_id}/{shop.id}", headers=north)).status_code == 204
    assert (await client.get("/routes", headers=field)).json()["items"] == []
    bad = await client.post("/routes", json={"user_id": user_id}, headers=north)
    assert bad.status_code == 400
