"""Stock checks: immutable counts, latest-by-observed-time levels, expected stock, discrepancies."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
from sqlalchemy import func, select

from backend.catalog.errors import ProductNotFound
from backend.changefeed import ChangeLog
from backend.db import new_id, utcnow
from backend.errors import PermissionDenied
from backend.identity.errors import OrgNotFound
from backend.inventory import StockCheck, StockLevel, location_for, record_movement, record_stock_check
from backend.inventory.errors import (
    InvalidLocation,
    InvalidMovement,
    InvalidObservedAt,
    InvalidQuantity,
    LocationNotFound,
    StockCheckIdTaken,
)
from backend.territory import assign_terminal
from backend.territory.errors import NotOnRoute
from mobile_api.routes.field_stock import StockCheckIn
from sync.mutations.field import StockCheckRecord
from tests.inventory.helpers import actor, at, terminal_of


async def _level(session, location_id, product_id) -> StockLevel:
    return (
        await session.execute(
            select(StockLevel).where(
                StockLevel.location_id == location_id, StockLevel.product_id == product_id
            )
        )
    ).scalar_one()


async def _count(session, who, org_id, product_id, qty, minutes, check_id=None):
    return await record_stock_check(
        session,
        who,
        check_id=check_id,
        org_id=org_id,
        product_id=product_id,
        counted_qty=qty,
        observed_at=at(minutes),
        device_id="dev-1",
    )


class TestLocations:
    async def scenario_warehouse_and_shelf_are_created_once(self, session_factory, network):
        shop = terminal_of(network, "dist-00")
        async with session_factory() as session:
            warehouse = await location_for(session, network.org("dist-00").id)
            shelf = await location_for(session, shop.id)
            assert (warehouse.kind, warehouse.distributor_id, warehouse.terminal_id) == (
                "warehouse",
                network.org("dist-00").id,
                None,
            )
            assert (shelf.kind, shelf.distributor_id, shelf.terminal_id) == ("shelf", shop.parent_id, shop.id)
            assert (await location_for(session, shop.id)).id == shelf.id
            await session.commit()

    async def scenario_suppliers_and_unknown_orgs_hold_no_stock(self, session_factory, network):
        async with session_factory() as session:
            with pytest.raises(InvalidLocation):
                await location_for(session, network.org("sup-a").id)
            with pytest.raises(OrgNotFound):
                await location_for(session, new_id())

    async def test_locations(self, session_factory, network):
        # One seeded network for the whole use case; each scenario uses its own rows.
        for scenario in (
            self.scenario_warehouse_and_shelf_are_created_once,
            self.scenario_suppliers_and_unknown_orgs_hold_no_stock,
        ):
            await scenario(session_factory, network)


class TestRecording:
    async def scenario_first_count_is_the_baseline_and_later_counts_compare_to_expected(
        self, session_factory, network
    ):
        dist = network.org("dist-00")
        sku = network.products["A-00001"]
        staff = actor(network, "dist-north")
        async with session_factory() as session:
            first = await _count(session, staff, dist.id, sku.id, 100, 0)
            assert first.expected_qty is None and first.discrepancy is False
            await record_movement(
                session,
                org_id=dist.id,
                product_id=sku.id,
                qty_delta=50,
                reason="delivery",
                ref_id="acc-1",
                occurred_at=at(10),
            )
            await record_movement(
                session,
                org_id=dist.id,
                product_id=sku.id,
                qty_delta=-30,
                reason="sale",
                ref_id="so-1",
                occurred_at=at(20),
            )
            # expected 120; 130 is within 20 %
            ok = await _count(session, staff, dist.id, sku.id, 130, 30)
            assert (ok.expected_qty, ok.discrepancy) == (120, False)
            # expected 130 now; 100 is 23 % off
            off = await _count(session, staff, dist.id, sku.id, 100, 40)
            assert (off.expected_qty, off.discrepancy) == (130, True)
            level = await _level(session, off.location_id, sku.id)
            assert (level.counted_qty, level.expected_qty, level.discrepancy, level.last_check_id) == (
                100,
                100,
                True,
                off.id,
            )
            await session.commit()

    async def scenario_boundary_of_the_ratio_is_not_a_discrepancy(self, session_factory, network):
        dist = network.org("dist-00")
        sku = network.products["A-00002"]
        staff = actor(network, "dist-north")
        async with session_factory() as session:
            await _count(session, staff, dist.id, sku.id, 100, 0)
            exactly = await _count(session, staff, dist.id, sku.id, 120, 1)
            assert exactly.discrepancy is False
            beyond = await _count(session, staff, dist.id, sku.id, 145, 2)
            assert beyond.discrepancy is True
            await session.commit()

    async def scenario_late_older_check_keeps_history_but_not_the_level(self, session_factory, network):
        dist = network.org("dist-00")
        sku = network.products["A-00003"]
        staff = actor(network, "dist-north")
        async with session_factory() as session:
            newest = await _count(session, staff, dist.id, sku.id, 40, 60)
            await record_movement(
                session,
                org_id=dist.id,
                product_id=sku.id,
                qty_delta=5,
                reason="delivery",
                ref_id="a",
                occurred_at=at(70),
            )
            late = await _count(session, staff, dist.id, sku.id, 10, 30)  # an offline phone syncs late
            level = await _level(session, newest.location_id, sku.id)
            assert (level.counted_qty, level.last_check_id, level.expected_qty) == (40, newest.id, 45)
            history = (
                (await session.execute(select(StockCheck.id).where(StockCheck.product_id == sku.id)))
                .scalars()
                .all()
            )
            assert set(history) == {newest.id, late.id}
            await session.commit()

    async def scenario_movement_before_the_latest_count_does_not_move_expected(
        self, session_factory, network
    ):
        dist = network.org("dist-00")
        sku = network.products["A-00004"]
        staff = actor(network, "dist-north")
        async with session_factory() as session:
            check = await _count(session, staff, dist.id, sku.id, 10, 60)
            await record_movement(
                session,
                org_id=dist.id,
                product_id=sku.id,
                qty_delta=7,
                reason="delivery",
                ref_id="x",
                occurred_at=at(30),
            )
            assert (await _level(session, check.location_id, sku.id)).expected_qty == 10
            await record_movement(
                session,
                org_id=dist.id,
                product_id=sku.id,
                qty_delta=-3,
                reason="sale",
                ref_id="y",
                occurred_at=at(90),
            )
            assert (await _level(session, check.location_id, sku.id)).expected_qty == 7
            await session.commit()

    async def scenario_idempotent_on_client_id_and_refuses_a_reused_id(self, session_factory, network):
        dist = network.org("dist-00")
        sku = network.products["A-00005"]
        staff = actor(network, "dist-north")
        check_id = new_id()
        async with session_factory() as session:
            first = await _count(session, staff, dist.id, sku.id, 5, 0, check_id=check_id)
            again = await _count(session, staff, dist.id, sku.id, 5, 0, check_id=check_id)
            assert again.id == first.id == check_id
            with pytest.raises(StockCheckIdTaken):
                await _count(session, staff, dist.id, sku.id, 6, 0, check_id=check_id)
            n = await session.scalar(select(func.count()).where(StockCheck.product_id == sku.id))
            assert n == 1
            await session.commit()

    async def scenario_a_retry_that_looks_newer_is_still_a_retry(self, session_factory, network):
        # A reused id with a later observed time takes the usual path (asked with the movement sums).
        dist = network.org("dist-00")
        sku = network.products["A-00006"]
        staff = actor(network, "dist-north")
        check_id = new_id()
        async with session_factory() as session:
            first = await _count(session, staff, dist.id, sku.id, 5, 0, check_id=check_id)
            await _count(session, staff, dist.id, sku.id, 8, 10)
            level_before = await _level(session, first.location_id, sku.id)
            seen = (level_before.counted_qty, level_before.last_check_id, level_before.version)
            again = await _count(session, staff, dist.id, sku.id, 5, 20, check_id=check_id)
            assert (again.id, again.observed_at) == (check_id, first.observed_at)
            with pytest.raises(StockCheckIdTaken):
                await _count(session, staff, dist.id, sku.id, 6, 30, check_id=check_id)
            level = await _level(session, first.location_id, sku.id)
            assert (level.counted_qty, level.last_check_id, level.version) == seen
            n = await session.scalar(select(func.count()).where(StockCheck.product_id == sku.id))
            assert n == 2
            await session.commit()

    async def scenario_levels_write_the_change_feed_in_their_scopes(self, session_factory, network):
        shop = terminal_of(network, "dist-00")
        sku = network.products["B-00001"]
        async with session_factory() as session:
            check = await _count(session, actor(network, "dist-north"), shop.id, sku.id, 3, 0)
            level = await _level(session, check.location_id, sku.id)
            await session.commit()
        async with session_factory() as session:
            scopes = set(
                (
                    await session.execute(
                        select(ChangeLog.scope).where(
                            ChangeLog.entity == "stock_level", ChangeLog.entity_id == level.id
                        )
                    )
                ).scalars()
            )
        assert scopes == {f"org:{shop.parent_id}", f"terminal:{shop.id}"}

    async def test_recording_counts(self, session_factory, network):
        # One seeded network for the whole use case; each scenario uses its own rows.
        for scenario in (
            self.scenario_first_count_is_the_baseline_and_later_counts_compare_to_expected,
            self.scenario_boundary_of_the_ratio_is_not_a_discrepancy,
            self.scenario_late_older_check_keeps_history_but_not_the_level,
            self.scenario_movement_before_the_latest_count_does_not_move_expected,
            self.scenario_idempotent_on_client_id_and_refuses_a_reused_id,
            self.scenario_a_retry_that_looks_newer_is_still_a_retry,
            self.scenario_levels_write_the_change_feed_in_their_scopes,
        ):
            await scenario(session_factory, network)


class TestRights:
    async def scenario_other_distributor_may_not_count(self, session_factory, network):
        """Another distributor's warehouse and shelves look missing (issue 12: not 403)."""
        async with session_factory() as session:
            with pytest.raises(LocationNotFound):
                await _count(
                    session,
                    actor(network, "dist-south"),
                    network.org("dist-00").id,
                    network.products["A-00001"].id,
                    1,
                    0,
                )
            with pytest.raises(LocationNotFound):
                await _count(
                    session,
                    actor(network, "dist-south"),
                    terminal_of(network, "dist-00").id,
                    network.products["A-00001"].id,
                    1,
                    0,
                )

    async def scenario_suppliers_do_not_count_distributor_stock(self, session_factory, network):
        async with session_factory() as session:
            with pytest.raises(LocationNotFound):  # another organisation's stock looks missing
                await _count(
                    session,
                    actor(network, "supplier-a"),
                    network.org("dist-00").id,
                    network.products["A-00001"].id,
                    1,
                    0,
                )

    async def scenario_field_staff_count_shelves_on_their_route_only(self, session_factory, network):
        shop, other_shop = terminal_of(network, "dist-00", 0), terminal_of(network, "dist-00", 1)
        field = actor(network, "field-north")
        sku = network.products["A-00001"].id
        async with session_factory() as session:
            await assign_terminal(
                session, actor(network, "dist-north"), user_id=field.user_id, terminal_id=shop.id
            )
            await _count(session, field, shop.id, sku, 4, 0)
            with pytest.raises(NotOnRoute):
                await _count(session, field, other_shop.id, sku, 4, 0)
            with pytest.raises(PermissionDenied):
                await _count(session, field, network.org("dist-00").id, sku, 4, 0)

    async def test_who_may_count(self, session_factory, network):
        # One seeded network for the whole use case; each scenario uses its own rows.
        for scenario in (
            self.scenario_other_distributor_may_not_count,
            self.scenario_suppliers_do_not_count_distributor_stock,
            self.scenario_field_staff_count_shelves_on_their_route_only,
        ):
            await scenario(session_factory, network)


class TestBadInput:
    async def scenario_bad_quantities(self, session_factory, network):
        async with session_factory() as session:
            for qty in (-1, 10**10, True):
                with pytest.raises(InvalidQuantity):
                    await _count(
                        session,
                        actor(network, "dist-north"),
                        network.org("dist-00").id,
                        network.products["A-00001"].id,
                        qty,
                        0,
                    )

    async def scenario_bad_ids_times_and_products(self, session_factory, network):
        staff = actor(network, "dist-north")
        dist, sku = network.org("dist-00").id, network.products["A-00001"].id
        # A malformed client id is refused at the boundary (REST body and mutation args share the
        # type), before any service: the service states rules, not types.
        for boundary in (StockCheckRecord, StockCheckIn):
            with pytest.raises(msgspec.ValidationError, match="id"):
                msgspec.convert(
                    {"id": "not-hex", "org_id": dist, "product_id": sku, "counted_qty": 1,
                     "observed_at": "2026-11-01T09:00:00Z"},
                    boundary,
                )  # fmt: skip
        async with session_factory() as session:
            with pytest.raises(InvalidObservedAt):
                await record_stock_check(
                    session,
                    staff,
                    check_id=None,
                    org_id=dist,
                    product_id=sku,
                    counted_qty=1,
                    observed_at=at(0).replace(tzinfo=None),
                    device_id=None,
                )
            with pytest.raises(InvalidObservedAt):
                await record_stock_check(
                    session,
                    staff,
                    check_id=None,
                    org_id=dist,
                    product_id=sku,
                    counted_qty=1,
                    observed_at=utcnow() + timedelta(days=2),
                    device_id=None,
                )
            with pytest.raises(ProductNotFound):
                await _count(session, staff, dist, new_id(), 1, 0)

    async def scenario_slightly_fast_clock_is_clamped_to_now(self, session_factory, network):
        staff = actor(network, "dist-north")
        async with session_factory() as session:
            check = await record_stock_check(
                session,
                staff,
                check_id=None,
                org_id=network.org("dist-00").id,
                product_id=network.products["A-00001"].id,
                counted_qty=1,
                observed_at=utcnow() + timedelta(minutes=5),
                device_id=None,
            )
            assert check.observed_at <= utcnow()

    async def scenario_bad_movements(self, session_factory, network):
        good = {
            "org_id": network.org("dist-00").id,
            "product_id": network.products["A-00001"].id,
            "qty_delta": 1,
            "reason": "delivery",
            "ref_id": "r",
            "occurred_at": at(0),
        }
        async with session_factory() as session:
            for bad in (
                {"reason": "theft"},
                {"qty_delta": 10**10},
                {"ref_id": ""},
                {"occurred_at": at(0).replace(tzinfo=None)},
            ):
                with pytest.raises(InvalidMovement):
                    await record_movement(session, **(good | bad))

    async def test_bad_input_is_refused(self, session_factory, network):
        # One seeded network for the whole use case; each scenario uses its own rows.
        for scenario in (
            self.scenario_bad_quantities,
            self.scenario_bad_ids_times_and_products,
            self.scenario_slightly_fast_clock_is_clamped_to_now,
            self.scenario_bad_movements,
        ):
            await scenario(session_factory, network)
