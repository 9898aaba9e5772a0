"""Workbench figures over real orders, acceptances, stock checks and inspections; scoped per org."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.acceptance import service as acceptance
from backend.catalog import PriceEntry
from backend.db import utcnow
from backend.errors import InvalidInput, PermissionDenied
from backend.identity.errors import OrgNotFound
from backend.inspections import answer_question, create_template, start_inspection, submit_inspection
from backend.inventory import StockLevel, location_for, record_stock_check
from backend.orders import Delivery
from backend.orders import service as orders
from backend.workbench import distributor_figures, supplier_figures
from tests.factories import auth_headers
from tests.inspections.test_inspections import QUESTIONS, hlc
from tests.inventory.helpers import actor
from tests.orders.kit import bring_to, cast_of, purchase


async def _activity(session, network):
    """dist-00 buys from sup-a: one order delivered short (a claim), one submitted, one rejected,
    one draft; it counts its warehouse (one count off) and inspects a shop."""
    cast = cast_of(network)
    beverages, snacks = cast.product("beverages"), cast.product("snacks")
    delivered = await bring_to(
        session, cast, await purchase(session, cast, (beverages, 10), (snacks, 4)), "shipped"
    )
    delivery = (await session.execute(select(Delivery).where(Delivery.order_id == delivered.id))).scalar_one()
    lines = await orders.delivery_lines(session, delivery.id)
    await acceptance.record_acceptance(
        session,
        cast["inspector"],
        delivery_id=delivery.id,
        lines=[
            {"delivery_line_id": x.id, "accepted": x.qty - 2, "short": 2} if x.product_id == beverages
            else {"delivery_line_id": x.id, "accepted": x.qty}
            for x in lines
        ],
    )  # fmt: skip
    await bring_to(session, cast, await purchase(session, cast, (beverages, 3)), "submitted")
    await bring_to(session, cast, await purchase(session, cast, (snacks, 5)), "rejected")
    await purchase(session, cast, (snacks, 1))

    staff = actor(network, "dist-north")
    warehouse = cast.distributor.id
    # 8 beverages arrived: the first count is the baseline, the next one is 3 (37 %) short
    for counted in (8, 5):
        await record_stock_check(
            session, staff, check_id=None, org_id=warehouse, product_id=beverages, counted_qty=counted,
            observed_at=utcnow(), device_id=None,
        )  # fmt: skip

    template = await create_template(session, staff, owner_id=warehouse, title="audit", questions=QUESTIONS)
    inspector = actor(network, "inspector-north")
    visit = await start_inspection(
        session, inspector, inspection_id=None, terminal_id=cast.terminal.id, template_id=template.id
    )
    for qid, value in (("clean", True), ("facings", 1), ("placement", "eye")):
        await answer_question(
            session, inspector, inspection_id=visit.id, question_id=qid, value=value, hlc=hlc(1)
        )
    await submit_inspection(session, inspector, inspection_id=visit.id)
    return cast, beverages, snacks


async def test_distributor_and_supplier_figures(session_factory, network):
    async with session_factory() as session:
        cast, beverages, snacks = await _activity(session, network)
        await session.commit()

    async with session_factory() as session:
        figures = await distributor_figures(session, actor(network, "dist-north"), low_stock_qty=5)
        states = {(r.kind, r.state): r.count for r in figures.orders_by_state}
        assert states == {
            ("purchase", "delivered"): 1,
            ("purchase", "submitted"): 1,
            ("purchase", "rejected"): 1,
            ("purchase", "draft"): 1,
        }
        used = {q.target: q.used_qty for q in figures.quotas if q.supplier_id == cast.supplier.id}
        assert used["beverages"] == 13 and used["snacks"] == 4  # the rejected order released its 5

        location = await location_for(session, cast.distributor.id)
        levels = (
            (await session.execute(select(StockLevel).where(StockLevel.location_id == location.id)))
            .scalars()
            .all()
        )
        prices = dict(
            (
                await session.execute(
                    select(PriceEntry.product_id, PriceEntry.price_minor).where(
                        PriceEntry.distributor_id == cast.distributor.id
                    )
                )
            ).all()
        )
        assert {lv.product_id: lv.expected_qty for lv in levels} == {beverages: 5, snacks: 4}
        assert figures.stock.skus == 2 and figures.stock.units == 9
        assert figures.stock.value_minor == 5 * prices[beverages] + 4 * prices[snacks]
        assert [r.product_id for r in figures.stock.low_stock] == [snacks, beverages]
        assert (figures.discrepancies.stock_levels, figures.discrepancies.open_claims) == (1, 1)
        # clean 2/2, facings 1 < 4 so 0/3, eye 4/4
        assert (figures.inspections.submitted, figures.inspections.avg_score_pct) == (1, 66.7)
        assert [t.terminal_id for t in figures.inspections.terminals] == [cast.terminal.id]

        supplier = await supplier_figures(session, actor(network, "supplier-a"))
        (row,) = supplier.sell_in_by_distributor
        assert (row.key_id, row.orders, row.qty) == (cast.distributor.id, 2, 17)
        assert [r.key_id for r in supplier.sell_in_by_region] == [cast.distributor.region_id]
        assert supplier.sell_in_by_region[0].value_minor == row.value_minor > 0
        assert (supplier.acceptance.acceptances, supplier.acceptance.discrepancy_rate) == (1, 1.0)
        assert supplier.acceptance.open_claims == 1
        assert supplier.quota_totals.used_qty == 17

        # isolation: another distributor and another supplier see none of it
        south = await distributor_figures(session, actor(network, "dist-south"))
        assert south.orders_by_state == [] and south.stock.skus == 0 and south.inspections.submitted == 0
        assert (south.discrepancies.stock_levels, south.discrepancies.open_claims) == (0, 0)
        other = await supplier_figures(session, actor(network, "supplier-b"))
        assert other.sell_in_by_distributor == [] and other.acceptance.acceptances == 0
        assert other.quota_totals.used_qty == 0


async def test_workbench_over_rest_and_refusals(client, session_factory, network):
    async with session_factory() as session:
        with pytest.raises(OrgNotFound):  # another distributor's figures look missing
            await distributor_figures(
                session, actor(network, "dist-north"), distributor_id=network.org("dist-20").id
            )
        with pytest.raises(PermissionDenied):
            await distributor_figures(session, actor(network, "supplier-a"))
        with pytest.raises(PermissionDenied):
            await supplier_figures(session, actor(network, "dist-north"))
        with pytest.raises(OrgNotFound):  # another supplier's figures look missing
            await supplier_figures(session, actor(network, "supplier-a"), supplier_id=network.org("sup-b").id)
        with pytest.raises(InvalidInput):
            await distributor_figures(session, actor(network, "admin"))
        admin_view = await distributor_figures(
            session, actor(network, "admin"), distributor_id=network.org("dist-20").id
        )
        assert admin_view.distributor_id == network.org("dist-20").id

    north = await auth_headers(client, "dist-north")
    r = await client.get("/workbench/distributor", headers=north)
    assert r.status_code == 200, r.text
    assert r.json()["distributor_id"] == network.org("dist-00").id
    assert len(r.json()["quotas"]) == 6
    r = await client.get("/workbench/supplier", headers=north)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    supplier = await auth_headers(client, "supplier-a", client_id="sup")
    r = await client.get(
        "/workbench/supplier",
        params={"period_start": "2026-02-01", "period_end": "2026-01-01"},
        headers=supplier,
    )
    assert (r.status_code, r.json()["code"]) == (422, "invalid_period")
    r = await client.get("/workbench/supplier", headers=supplier)
    assert r.status_code == 200 and r.json()["acceptance"]["discrepancy_rate"] is None
