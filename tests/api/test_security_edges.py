"""Security edges (issue 12, class 3): the request limit's key, the query-string token, REST
catalog entitlements, upload metadata per upload, and not-yours answering 404 like missing."""

from __future__ import annotations

import hashlib
import time

import jwt
import msgspec
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backend.catalog import ChannelAuthorisation, Product
from fieldsync.wiring import build_app
from tests.factories import auth_headers, login
from tests.inventory.helpers import terminal_of
from tests.media.helpers import upload_photo
from tests.media.images import photo


async def test_junk_bearers_count_against_the_address_and_devices_count_alone(settings, network):
    """A fresh junk ``Authorization`` per request used to get a fresh budget each (unbounded
    password guessing); now only a verified token picks the key, anything else is the address."""
    limited = msgspec.structs.replace(settings, requests_per_minute=6)
    async with AsyncTestClient(app=build_app(limited)) as client:
        tokens = await login(client, "dist-north")  # 1 request from the address
        now = int(time.time())
        forged = jwt.encode(
            {"sub": network.user("admin").id, "did": "x", "iat": now, "exp": now + 60, "aud": "fieldsync"},
            "not-the-server-key-not-the-server-key",
            algorithm="HS256",
        )
        statuses = []
        for i in range(8):
            bearer = forged if i % 2 else f"junk-{i}"
            r = await client.get("/me", headers={"Authorization": f"Bearer {bearer}"})
            statuses.append(r.status_code)
        assert statuses[:5] == [401] * 5 and statuses[5:] == [429] * 3, statuses
        signed_in = await client.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert signed_in.status_code == 200  # the device has a budget of its own


async def test_the_access_token_is_read_from_the_query_string_only_on_the_websocket(client, network):
    tokens = await login(client, "dist-north")
    r = await client.get("/me", params={"access_token": tokens["access_token"]})
    assert (r.status_code, r.json()["code"]) == (401, "unauthenticated")
    r = await client.get("/sync/v1/pull", params={"access_token": tokens["access_token"]})
    assert r.status_code == 401


async def test_rest_catalog_reads_follow_the_sync_entitlements(client, network, session_factory):
    supplier_a = await auth_headers(client, "supplier-a")
    sup_a, sup_b = network.org("sup-a").id, network.org("sup-b").id
    products = (await client.get("/admin/products", headers=supplier_a, params={"limit": 500})).json()
    assert products["items"] and {p["supplier_id"] for p in products["items"]} == {sup_a}
    categories = (await client.get("/admin/categories", headers=supplier_a, params={"limit": 500})).json()
    assert {c["supplier_id"] for c in categories["items"]} == {sup_a}
    asked = await client.get("/admin/products", headers=supplier_a, params={"supplier_id": sup_b})
    assert asked.json()["items"] == []
    b_product = network.products["B-00001"]
    r = await client.get(f"/admin/products/{b_product.id}", headers=supplier_a)
    assert (r.status_code, r.json()["code"]) == (404, "product_not_found")

    north = await auth_headers(client, "dist-north")
    async with session_factory() as session:
        authorising = set(
            (
                await session.execute(
                    select(ChannelAuthorisation.supplier_id).where(
                        ChannelAuthorisation.distributor_id == network.org("dist-00").id,
                        ChannelAuthorisation.active.is_(True),
                    )
                )
            ).scalars()
        )
        others = (
            await session.execute(select(Product.id).where(Product.supplier_id.not_in(authorising)))
        ).scalars()
        foreign = next(iter(others), None)
    listed = (await client.get("/admin/products", headers=north, params={"limit": 500})).json()["items"]
    assert {p["supplier_id"] for p in listed} <= authorising
    if foreign is not None:
        r = await client.get(f"/admin/products/{foreign}", headers=north)
        assert (r.status_code, r.json()["code"]) == (404, "product_not_found")
    field_user = await auth_headers(client, "inspector-north")  # a distributor's people: the same rule
    listed = (await client.get("/admin/products", headers=field_user, params={"limit": 500})).json()["items"]
    assert {p["supplier_id"] for p in listed} <= authorising


async def test_identical_bytes_do_not_reveal_the_first_uploader(client, network):
    data = photo(seed=1207)
    digest = hashlib.sha256(data).hexdigest()
    first = await auth_headers(client, "inspector-north")
    second = await auth_headers(client, "dist-south")
    assert (await upload_photo(client, first, data)).status_code == 201
    assert (await upload_photo(client, second, data)).status_code == 201
    seen = (await client.get(f"/media/photos/{digest}", headers=second)).json()
    assert seen["uploader_org_id"] == network.org("dist-20").id
    assert seen["uploader_user_id"] == network.user("dist-south").id
    own = (await client.get(f"/media/photos/{digest}", headers=first)).json()
    assert own["uploader_user_id"] == network.user("inspector-north").id
    admin = (await client.get(f"/media/photos/{digest}", headers=await auth_headers(client, "admin"))).json()
    assert admin["uploader_user_id"] == network.user("inspector-north").id  # the evidence: the first


async def test_not_yours_answers_404_like_missing(client, network):
    """Another distributor's terminal, organisation or stock answered 403 ``forbidden``."""
    south = await auth_headers(client, "dist-south")
    north_shop = terminal_of(network, "dist-00")
    r = await client.get(f"/admin/organisations/{network.org('dist-00').id}", headers=south)
    assert (r.status_code, r.json()["code"]) == (404, "organisation_not_found")
    r = await client.get("/admin/users", headers=south, params={"org_id": network.org("dist-00").id})
    assert (r.status_code, r.json()["code"]) == (404, "organisation_not_found")
    check = {
        "org_id": north_shop.id,
        "product_id": network.products["A-00001"].id,
        "counted_qty": 1,
        "observed_at": "2026-11-01T09:00:00Z",
    }
    r = await client.post("/stock/checks", json=check, headers=south)
    assert r.status_code == 404 and r.json()["code"].endswith("_not_found"), r.text
    r = await client.post(
        "/routes",
        json={"user_id": network.user("dist-south").id, "terminal_id": north_shop.id},
        headers=south,
    )
    assert (r.status_code, r.json()["code"]) == (404, "terminal_not_found")
