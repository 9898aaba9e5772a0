"""Pull: scoped, paged, read-your-writes, tombstones, revocation, bootstrap and repair."""

from __future__ import annotations

import gzip

import msgspec
from sqlalchemy import select, update

from backend.catalog import ChannelAuthorisation, PriceEntry, Product
from backend.catalog import service as catalog
from backend.db import new_id, utcnow
from backend.demo import SYSTEM
from backend.identity import Organisation
from backend.identity import service as identity
from backend.identity.service import load_actor
from backend.territory import service as territory
from tests.factories import auth_headers
from tests.sync.helpers import pull_page, server_view


async def _withdraw_authorisations(session, supplier_id: str) -> None:
    """Every channel authorisation of ``supplier_id`` withdrawn (not committed)."""
    await session.execute(
        update(ChannelAuthorisation)
        .where(ChannelAuthorisation.supplier_id == supplier_id)
        .values(active=False)
        .execution_options(synchronize_session=False)
    )


def _org_ids(phone):
    """Every organisation row a phone holds."""
    return {i for (_s, e, i) in phone.rows() if e == "organisation"}


class TestBootstrapAndScopes:
    async def test_a_new_phone_gets_exactly_its_scopes_in_pages(self, phone, network, session_factory):
        field = await phone("field-north")
        stats = await field.pull(limit=10)
        assert stats.pages > 3
        assert field.rows() == await server_view(session_factory, network.user("field-north").id)
        org = network.user("field-north").org_id
        assert {s.split(":")[0] for s in field.scopes()} == {"reference", "org", "orgcard", "catalog", "user"}
        assert f"org:{org}" in field.scopes()

    async def test_no_phone_sees_another_distributors_data(self, phone, network):
        north, south = await phone("dist-north"), await phone("dist-south")
        await north.pull()
        await south.pull()
        north_org, south_org = network.user("dist-north").org_id, network.user("dist-south").org_id
        north_rows = north.rows()
        assert not any(s == f"org:{south_org}" for (s, _e, _i) in north_rows)
        south_shops = {o.id for o in network.orgs.values() if o.parent_id == south_org}
        assert south_shops and not (south_shops & _org_ids(north))
        prices = [d for (_s, e, _i), (_v, d) in north_rows.items() if e == "price"]
        assert prices and all(d["distributor_id"] == north_org for d in prices)
        assert not any(s == f"org:{north_org}" for (s, _e, _i) in south.rows())

    async def test_a_withdrawn_catalog_is_purged_from_the_replica(self, phone, network, session_factory):
        field = await phone("field-north")
        await field.pull()
        sup_b = network.org("sup-b").id
        assert field.rows(f"catalog:{sup_b}")
        async with session_factory() as session:
            await _withdraw_authorisations(session, sup_b)
            await session.commit()
        stats = await field.pull()
        assert f"catalog:{sup_b}" in stats.revoked
        assert field.rows(f"catalog:{sup_b}") == {}
        assert not [r for r in field.db.execute("SELECT 1 FROM rows WHERE scope = ?", (f"catalog:{sup_b}",))]

    async def test_a_newly_granted_scope_is_bootstrapped_alone(self, phone, network, session_factory):
        field = await phone("field-north")
        await field.pull()
        dist = network.user("field-north").org_id
        async with session_factory() as session:
            sup_c = await identity.create_organisation(
                session, kind="supplier", name="Supplier C", code="sup-c"
            )
            cat = await catalog.create_category(session, SYSTEM, supplier_id=sup_c.id, code="tea", name="Tea")
            for n in range(3):
                await catalog.create_product(
                    session, SYSTEM, supplier_id=sup_c.id, category_id=cat.id, sku=f"C-{n}", name=f"Tea {n}"
                )
            region = (await session.get(Organisation, dist)).region_id
            session.add(
                ChannelAuthorisation(
                    supplier_id=sup_c.id, distributor_id=dist, category_id=cat.id, region_id=region
                )
            )
            await session.commit()
        page = await pull_page(field, cursor=field.cursor, client_id=field.client_id)
        assert sorted(page["reset"]) == [f"catalog:{sup_c.id}", f"orgcard:{sup_c.id}"]
        scopes = {c["scope"] for c in page["changes"]}
        # The new catalog in full and the supplier's card, plus only the authorisation row's own
        # change in the org scope.
        assert scopes == {f"catalog:{sup_c.id}", f"orgcard:{sup_c.id}", f"org:{dist}"}
        assert len([c for c in page["changes"] if c["scope"] == f"org:{dist}"]) == 1
        await field.pull()
        assert len(field.rows(f"catalog:{sup_c.id}")) == 1 + 1 + 3  # supplier, category, products
        assert field.rows() == await server_view(session_factory, network.user("field-north").id)


class TestOrganisationCards:
    """Trading partners see each other's organisation row, and nothing else of each other."""

    async def test_a_supplier_sees_its_distributors_names_and_nothing_more(
        self, phone, network, session_factory
    ):
        supplier = await phone("supplier-a")
        await supplier.pull()
        distributors = {o.id for o in network.orgs.values() if o.kind == "distributor"}
        async with session_factory() as session:
            stranger = await identity.create_organisation(
                session, kind="distributor", name="远方经销商", code="dist-far"
            )
            await session.commit()
        await supplier.pull()
        cards = {i: d for (s, e, i), (_v, d) in supplier.rows().items() if s.startswith("orgcard:")}
        assert set(cards) == distributors
        assert all(cards[d]["kind"] == "distributor" and cards[d]["name"] for d in distributors)
        assert stranger.id not in _org_ids(supplier)
        # Only the card: no shop of a distributor's, no price, no stock of theirs.
        shops = {o.id for o in network.orgs.values() if o.parent_id in distributors}
        assert shops and not (shops & _org_ids(supplier))
        assert not any(e in ("price", "stock_level") for (_s, e, _i) in supplier.rows())
        assert supplier.rows() == await server_view(session_factory, network.user("supplier-a").id)

    async def test_a_partner_keeps_the_name_after_the_authorisation_is_withdrawn(
        self, phone, network, session_factory
    ):
        field = await phone("field-north")
        await field.pull()
        sup_b = network.org("sup-b").id
        async with session_factory() as session:
            await _withdraw_authorisations(session, sup_b)
            org = await session.get(Organisation, sup_b)
            org.name = "Supplier B (renamed)"
            await session.commit()
        stats = await field.pull()
        assert f"catalog:{sup_b}" in stats.revoked
        ((_v, card),) = field.rows(f"orgcard:{sup_b}").values()
        assert card["name"] == "Supplier B (renamed)"
        assert field.rows() == await server_view(session_factory, network.user("field-north").id)


class TestDeltas:
    async def test_updates_and_deletes_arrive_as_versions_and_tombstones(
        self, phone, network, session_factory
    ):
        field = await phone("field-north")
        await field.pull()
        sup_a, dist = network.org("sup-a").id, network.user("field-north").org_id
        product = next(p for p in network.products.values() if p.supplier_id == sup_a)
        async with session_factory() as session:
            (await session.get(Product, product.id)).name = "Renamed"
            price = (
                await session.execute(select(PriceEntry).where(PriceEntry.distributor_id == dist).limit(1))
            ).scalar_one()
            price_id = price.id
            await session.commit()
        await field.pull()
        catalog_scope, org_scope = f"catalog:{sup_a}", f"org:{dist}"
        version, data = field.rows(catalog_scope)[(catalog_scope, "product", product.id)]
        assert (version, data["name"]) == (2, "Renamed")
        assert (org_scope, "price", price_id) in field.rows(org_scope)
        async with session_factory() as session:
            await session.delete(await session.get(PriceEntry, price_id))
            await session.commit()
        page = await pull_page(field, cursor=field.cursor)
        tombstone = {"scope": org_scope, "entity": "price", "id": price_id, "op": "delete", "version": 1}
        assert tombstone in page["changes"]
        await field.pull()
        assert (org_scope, "price", price_id) not in field.rows()
        assert field.rows() == await server_view(session_factory, network.user("field-north").id)

    async def test_a_caught_up_pull_is_empty(self, phone, network):
        field = await phone("field-north")
        await field.pull()
        stats = await field.pull()
        assert (stats.pages, stats.changes) == (1, 0)

    async def test_read_your_writes(self, phone, network):
        field = await phone("field-north")
        await field.pull()
        mid = field.mutate("profile.update", {"display_name": "Fresh Name"})
        await field.push()
        assert field.result(mid)["status"] == "applied"
        await field.pull()
        assert field.last_applied_seq == 1
        user_id = network.user("field-north").id
        scope = f"user:{user_id}"
        assert field.rows(scope)[(scope, "user", user_id)][1]["display_name"] == "Fresh Name"


class TestIntegrity:
    async def test_a_corrupted_replica_is_detected_and_repaired(self, phone, network, session_factory):
        field = await phone("field-north")
        await field.pull()
        org_scope = f"org:{network.user('field-north').org_id}"
        with field.db:
            field.db.execute(
                "DELETE FROM rows WHERE rowid IN (SELECT rowid FROM rows WHERE scope = ? LIMIT 2)",
                (org_scope,),
            )
        # A change in the scope makes the next pull carry its checksum.
        async with session_factory() as session:
            shop = await session.get(Organisation, network.org("shop-001").id)
            shop.name = "Shop One Renamed"
            await session.commit()
        stats = await field.pull()
        assert stats.repaired == [org_scope]
        assert field.rows() == await server_view(session_factory, network.user("field-north").id)

    async def test_checksums_travel_with_completed_scopes(self, client, network):
        h = await auth_headers(client, "field-north")
        page = (await client.get("/sync/v1/pull", params={"limit": 5000}, headers=h)).json()
        assert not page["has_more"]
        completed = {c["scope"] for c in page["changes"]}
        if page["pending"]:  # a scope still waiting behind the watermark gets its checksum later
            assert set(page["checksums"]) <= completed
        else:
            assert set(page["checksums"]) == completed
        again = (await client.get("/sync/v1/pull", params={"cursor": page["cursor"]}, headers=h)).json()
        assert again["checksums"] == {}


class TestEncodings:
    async def test_msgpack_pull_matches_json(self, phone, network):
        as_json, as_msgpack = (
            await phone("field-north"),
            await phone("field-north", media_type="application/msgpack"),
        )
        await as_json.pull()
        await as_msgpack.pull()
        assert as_json.rows() == as_msgpack.rows()

    async def test_large_pages_are_gzipped(self, client, network):
        h = await auth_headers(client, "field-north")
        response = await client.get(
            "/sync/v1/pull", params={"limit": 200}, headers={**h, "Accept-Encoding": "gzip"}
        )
        assert response.headers.get("content-encoding") == "gzip"
        assert response.json()["changes"]
        raw = await client.get(
            "/sync/v1/pull", params={"limit": 200}, headers={**h, "Accept-Encoding": "identity"}
        )
        assert "content-encoding" not in raw.headers
        assert len(gzip.compress(raw.content)) < len(raw.content)

    async def test_a_bad_or_foreign_cursor_is_a_400(self, client, network):
        north = await auth_headers(client, "dist-north")
        south = await auth_headers(client, "dist-south")
        bad = await client.get("/sync/v1/pull", params={"cursor": "not-a-cursor"}, headers=north)
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"
        cursor = (await client.get("/sync/v1/pull", params={"limit": 1}, headers=north)).json()["cursor"]
        foreign = await client.get("/sync/v1/pull", params={"cursor": cursor}, headers=south)
        assert foreign.status_code == 400 and foreign.json()["code"] == "invalid_cursor"
        msgspec.json.decode((await client.get("/sync/v1/pull", params={"limit": 0}, headers=north)).content)

    async def test_a_tampered_or_forged_cursor_is_a_400(self, client, network):
        """Cursors are authenticated: an edited position or scope, or one built by hand (they were
        plain base64 msgpack, and a forged position or scope was accepted), is ``invalid_cursor``."""
        import base64

        from sync.cursor import Cursor, Position

        def b64(raw: bytes) -> str:
            return base64.urlsafe_b64encode(raw).decode().rstrip("=")

        north = await auth_headers(client, "dist-north")
        cursor = (await client.get("/sync/v1/pull", params={"limit": 1}, headers=north)).json()["cursor"]
        body, _, tag = cursor.partition(".")
        decoded = msgspec.msgpack.decode(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)), type=Cursor)
        decoded.scopes["org:someone-else"] = Position(0, 0)
        edited = msgspec.msgpack.encode(decoded)
        forged = [
            f"{b64(edited)}.{tag}",  # an extra scope under the old tag
            b64(edited),  # no tag at all
            f"{body}.{b64(b'0' * 16)}",  # the right body, a made-up tag
            f"{b64(msgspec.msgpack.encode(Cursor(scopes={'reference': Position(2**63, 0)})))}.{tag}",
        ]
        for bad in forged:
            r = await client.get("/sync/v1/pull", params={"cursor": bad}, headers=north)
            assert r.status_code == 400 and r.json()["code"] == "invalid_cursor", (bad, r.text)
        assert (
            await client.get("/sync/v1/pull", params={"cursor": cursor}, headers=north)
        ).status_code == 200


class TestRoutes:
    async def test_a_terminal_taken_off_the_route_is_purged_from_the_replica(
        self, phone, network, session_factory
    ):
        field = await phone("field-north")
        shop = network.org("shop-001").id
        scope = f"terminal:{shop}"
        async with session_factory() as session:
            manager = await load_actor(session, network.user("dist-north").id, None)
            await territory.assign_terminal(
                session, manager, user_id=network.user("field-north").id, terminal_id=shop
            )
            await session.commit()
        check = field.mutate(
            "stock_check.record",
            {
                "id": new_id(),
                "org_id": shop,
                "product_id": network.products["A-00001"].id,
                "counted_qty": 3,
                "observed_at": utcnow().isoformat(),
            },
        )
        await field.sync()
        assert field.result(check)["status"] == "applied"
        assert "stock_level" in {e for (_s, e, _i) in field.rows(scope)}
        async with session_factory() as session:
            manager = await load_actor(session, network.user("dist-north").id, None)
            await territory.unassign_terminal(
                session, manager, user_id=network.user("field-north").id, terminal_id=shop
            )
            await session.commit()
        stats = await field.pull()
        assert scope in stats.revoked
        assert field.rows(scope) == {}
        assert field.rows() == await server_view(session_factory, network.user("field-north").id)
