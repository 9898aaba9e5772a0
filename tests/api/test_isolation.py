"""A distributor's staff can neither list, fetch nor change another distributor's users, devices,
prices or quotas; a supplier's staff cannot touch another supplier's channel rules."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import auth_headers, login

# dist-north works for dist-00 (North Province), dist-south for dist-20 (South Province).
NORTH, SOUTH = "dist-00", "dist-20"


@pytest.fixture
async def north(client, network):
    return await auth_headers(client, "dist-north")


async def _first(client, path, headers, **params):
    page = await client.get(path, headers=headers, params=params)
    assert page.status_code == 200, page.text
    return page.json()["items"][0]


async def test_users_of_another_distributor_are_out_of_reach(client, network, north):
    south_user = network.user("dist-south")
    listed = await client.get("/admin/users", headers=north)
    assert {u["org_id"] for u in listed.json()["items"]} == {network.org(NORTH).id}
    refused = await client.get("/admin/users", headers=north, params={"org_id": network.org(SOUTH).id})
    assert refused.status_code == 404 and refused.json()["code"] == "organisation_not_found"
    fetched = await client.get(f"/admin/users/{south_user.id}", headers=north)
    assert fetched.status_code == 404 and fetched.json()["code"] == "user_not_found"
    changed = await client.patch(
        f"/admin/users/{south_user.id}", headers=north, json={"display_name": "Taken over"}
    )
    assert changed.status_code == 403
    revoked = await client.post(f"/admin/users/{south_user.id}/revoke", headers=north)
    assert revoked.status_code == 403
    created = await client.post(
        "/admin/users",
        headers=north,
        json={
            "org_id": network.org(SOUTH).id,
            "username": "intruder",
            "display_name": "Intruder",
            "role": "distributor_staff",
            "password": "long-enough-password",
        },
    )
    assert created.status_code == 403
    admin = await auth_headers(client, "admin")
    still = await client.get(f"/admin/users/{south_user.id}", headers=admin)
    assert still.json()["display_name"] == "Dist South" and still.json()["active"] is True


async def test_devices_of_another_distributor_are_out_of_reach(client, network, north):
    south_phone = await login(client, "dist-south", client_id="south-phone")
    colleague = await login(client, "field-north", client_id="north-phone")
    listed = await client.get("/admin/devices", headers=north)
    ids = {d["id"] for d in listed.json()["items"]}
    assert colleague["device_id"] in ids and south_phone["device_id"] not in ids
    by_user = await client.get(
        "/admin/devices", headers=north, params={"user_id": network.user("dist-south").id}
    )
    assert by_user.json()["items"] == []
    fetched = await client.get(f"/admin/devices/{south_phone['device_id']}", headers=north)
    assert fetched.status_code == 404 and fetched.json()["code"] == "device_not_found"
    revoked = await client.post(f"/devices/{south_phone['device_id']}/revoke", headers=north)
    assert revoked.status_code == 404
    # Seeing a colleague's device does not make it one's own to sign out.
    colleague_revoke = await client.post(f"/devices/{colleague['device_id']}/revoke", headers=north)
    assert colleague_revoke.status_code == 403
    south = {"Authorization": f"Bearer {south_phone['access_token']}"}
    assert (await client.get("/me", headers=south)).status_code == 200


async def test_prices_of_another_distributor_are_out_of_reach(client, network, north):
    admin = await auth_headers(client, "admin")
    south_price = await _first(client, "/admin/prices", admin, distributor_id=network.org(SOUTH).id)
    listed = await client.get("/admin/prices", headers=north, params={"limit": 500})
    assert {p["distributor_id"] for p in listed.json()["items"]} == {network.org(NORTH).id}
    refused = await client.get(
        "/admin/prices", headers=north, params={"distributor_id": network.org(SOUTH).id}
    )
    assert refused.status_code == 404 and refused.json()["code"] == "organisation_not_found"
    fetched = await client.get(f"/admin/prices/{south_price['id']}", headers=north)
    assert fetched.status_code == 404 and fetched.json()["code"] == "price_not_found"
    for distributor in (SOUTH, NORTH):  # distributors never set prices, not even their own
        changed = await client.post(
            "/admin/prices",
            headers=north,
            json={
                "distributor_id": network.org(distributor).id,
                "product_id": south_price["product_id"],
                "price_minor": 1,
            },
        )
        assert changed.status_code == 403 and changed.json()["code"] == "forbidden"
    again = await client.get(f"/admin/prices/{south_price['id']}", headers=admin)
    assert again.json()["price_minor"] == south_price["price_minor"]


async def test_quotas_of_another_distributor_are_out_of_reach(client, network, north):
    admin = await auth_headers(client, "admin")
    quotas = (await client.get("/admin/quotas", headers=admin, params={"limit": 500})).json()["items"]
    south_quota = next(q for q in quotas if q["distributor_id"] == network.org(SOUTH).id)
    listed = await client.get("/admin/quotas", headers=north, params={"limit": 500})
    assert listed.json()["items"] and {q["distributor_id"] for q in listed.json()["items"]} == {
        network.org(NORTH).id
    }
    fetched = await client.get(f"/admin/quotas/{south_quota['id']}", headers=north)
    assert fetched.status_code == 404 and fetched.json()["code"] == "quota_not_found"
    changed = await client.post(
        "/admin/quotas",
        headers=north,
        json={
            "supplier_id": south_quota["supplier_id"],
            "distributor_id": network.org(SOUTH).id,
            "region_id": south_quota["region_id"],
            "category_id": south_quota["category_id"],
            "period_start": str(date.today()),
            "period_end": str(date.today()),
            "limit_qty": 0,
        },
    )
    assert changed.status_code == 403
    authorisations = await client.get("/admin/authorisations", headers=north, params={"limit": 500})
    assert {a["distributor_id"] for a in authorisations.json()["items"]} == {network.org(NORTH).id}


async def test_a_supplier_cannot_touch_another_suppliers_channel(client, network):
    supplier_a = await auth_headers(client, "supplier-a")
    b_product = network.products["B-00001"]
    price = await client.post(
        "/admin/prices",
        headers=supplier_a,
        json={"distributor_id": network.org(NORTH).id, "product_id": b_product.id, "price_minor": 1},
    )
    assert price.status_code == 404  # another supplier's product looks missing
    prices = await client.get("/admin/prices", headers=supplier_a, params={"limit": 500})
    a_products = {p.id for p in network.products.values() if p.supplier_id == network.org("sup-a").id}
    assert {p["product_id"] for p in prices.json()["items"]} <= a_products
    quotas = await client.get("/admin/quotas", headers=supplier_a, params={"limit": 500})
    assert {q["supplier_id"] for q in quotas.json()["items"]} == {network.org("sup-a").id}
    beverages_b = network.categories[("sup-b", "beverages")]
    grant = await client.post(
        "/admin/authorisations",
        headers=supplier_a,
        json={
            "supplier_id": network.org("sup-b").id,
            "distributor_id": network.org(NORTH).id,
            "category_id": beverages_b.id,
            "region_id": network.org(NORTH).region_id,
        },
    )
    assert grant.status_code == 404  # another supplier's channel looks missing


async def test_organisations_of_another_distributor_are_out_of_reach(client, network, north):
    listed = await client.get("/admin/organisations", headers=north, params={"limit": 500})
    own = network.org(NORTH).id
    # Its own organisation, its terminals, and the suppliers that authorise it: no other distributor.
    assert {
        (o["id"] == own or o["parent_id"] == own or o["kind"] == "supplier") for o in listed.json()["items"]
    } == {True}
    fetched = await client.get(f"/admin/organisations/{network.org(SOUTH).id}", headers=north)
    assert fetched.status_code == 404 and fetched.json()["code"] == "organisation_not_found"
    created = await client.post(
        "/admin/organisations",
        headers=north,
        json={
            "kind": "terminal",
            "name": "Pirate shop",
            "code": "pirate",
            "parent_id": network.org(SOUTH).id,
        },
    )
    assert created.status_code == 403
