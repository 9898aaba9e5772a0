"""The worker's suggestions from real sell-through rows: a shelf's counts worked out by hand, a
warehouse's sales bounded by quota, pack size and authorisation, and the draft orders they make
over REST and sync push; another distributor sees none of it."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from backend.catalog import ChannelAuthorisation, Product, RegionalQuota
from backend.db import new_id
from backend.forecasting import Suggestion, compute_suggestions
from backend.inventory import record_stock_check
from backend.orders.models import Order, OrderLine
from backend.territory import assign_terminal
from tests.factories import auth_headers
from tests.inventory.helpers import actor, terminal_of
from tests.sync.helpers import signed_in_phone, wait_for_watermark

TODAY = datetime.now(UTC).date()
NOON = time(12, tzinfo=UTC)
# The worker is told the same day the history was written for (a run across midnight UTC must not
# shift its window by a day).
AT_NOON = datetime.combine(TODAY, NOON)
# daily shelf counts whose differences are the sales 0, 3, 0, 0, 2, 0, 4 (no deliveries)
COUNTS = [20, 20, 17, 17, 17, 15, 15, 11]
HAND_RATE = 0.95 * 3.01 / 2.333  # Croston/SBA of 0,3,0,0,2,0,4 (tests/replenishment/test_model.py)
HAND_SIGMA = math.sqrt(sum((d - 9 / 7) ** 2 for d in [0, 3, 0, 0, 2, 0, 4]) / 7)


async def _products(session, network) -> tuple[Product, Product]:
    """A Supplier A SKU dist-00 is authorised for, and one it is not."""
    dist = network.org("dist-00")
    allowed = set(
        (
            await session.execute(
                select(ChannelAuthorisation.category_id).where(
                    ChannelAuthorisation.distributor_id == dist.id,
                    ChannelAuthorisation.supplier_id == network.org("sup-a").id,
                )
            )
        ).scalars()
    )
    supplier_a = sorted((p for p in network.products.values() if p.sku.startswith("A-")), key=lambda p: p.sku)
    yes = next(p for p in supplier_a if p.category_id in allowed)
    no = next(p for p in supplier_a if p.category_id not in allowed)
    return await session.get(Product, yes.id), await session.get(Product, no.id)


def _sale(dist, shop, user, product, qty: int, day: date) -> list:
    order = Order(
        id=new_id(), kind="sales", distributor_id=dist.id, terminal_id=shop.id, state="delivered",
        created_by=user.id, submitted_at=datetime.combine(day, NOON),
    )  # fmt: skip
    line = OrderLine(
        order_id=order.id, product_id=product.id, qty=qty, kind="sales", distributor_id=dist.id,
        terminal_id=shop.id,
    )  # fmt: skip
    return [order, line]


async def _seed_history(session, network) -> tuple:
    dist, shop = network.org("dist-00"), terminal_of(network, "dist-00")
    rep = network.user("field-north")
    yes, no = await _products(session, network)
    yes.pack_size, no.pack_size = 12, 1
    await assign_terminal(session, actor(network, "dist-north"), user_id=rep.id, terminal_id=shop.id)
    for i, qty in enumerate(COUNTS):
        day = TODAY - timedelta(days=len(COUNTS) - i)
        await record_stock_check(
            session, actor(network, "field-north"), check_id=new_id(), org_id=shop.id, product_id=yes.id,
            counted_qty=qty, observed_at=datetime.combine(day, NOON), device_id=None,
        )  # fmt: skip
    # the warehouse sold 10 a day of each for four weeks
    for back in range(1, 29):
        for product in (yes, no):
            session.add_all(_sale(dist, shop, rep, product, 10, TODAY - timedelta(days=back)))
    session.add(
        RegionalQuota(
            supplier_id=yes.supplier_id, distributor_id=dist.id, region_id=dist.region_id, product_id=yes.id,
            period_start=TODAY - timedelta(days=1), period_end=TODAY + timedelta(days=30), limit_qty=130,
            used_qty=30,
        )
    )  # fmt: skip
    await session.flush()
    return dist, shop, yes, no


async def test_worker_suggestions_match_the_hand_calculation_and_bounds(session_factory, network):
    async with session_factory() as session:
        dist, shop, yes, no = await _seed_history(session, network)
        assert await compute_suggestions(session, now=AT_NOON) == 3
        rows = {(s.kind, s.product_id): s for s in (await session.execute(select(Suggestion))).scalars()}
        shelf = rows[("sales", yes.id)]
        # by hand: 2 days lead (no delivered sales order yet) + 7 review = 9 days of 1.2256/day,
        # safety 1.645·σ·√(9 + 81·α/(2−α)), 11 on hand, packs of 12
        safety = 1.6448536 * HAND_SIGMA * math.sqrt(9 + 81 * 0.1 / 1.9)
        missing = 9 * HAND_RATE + safety - 11
        assert shelf.method == "sba" and shelf.forecast_daily == pytest.approx(HAND_RATE, abs=1e-3)
        assert shelf.safety_stock == pytest.approx(safety, abs=0.01)
        assert shelf.suggested_qty == 12 * math.ceil(missing / 12) == 12
        assert shelf.reason == "sold 9 in 7 days, 11 on hand, 2 days lead time; order 12 (1 pack of 12)"
        warehouse = rows[("purchase", yes.id)]
        # wanted 10/day over 7 + 7 days = 140 → 144 in packs of 12, but the quota leaves 100 → 96
        assert (warehouse.suggested_qty, warehouse.bound) == (96, "quota")
        assert warehouse.reason.startswith("sold 280 in 4 weeks, 0 on hand, 7 days lead time; order 96")
        assert "capped by the quota left (wanted 144)" in warehouse.reason
        refused = rows[("purchase", no.id)]
        assert (refused.suggested_qty, refused.bound) == (0, "not_authorised")
        assert await compute_suggestions(session, now=AT_NOON) == 0  # nothing changed: no new versions
        await session.commit()


async def test_suggestions_to_draft_orders_over_rest_and_sync(client, session_factory, network):
    async with session_factory() as session:
        dist, shop, yes, _no = await _seed_history(session, network)
        await compute_suggestions(session, now=AT_NOON)
        await session.commit()
    north = await auth_headers(client, "dist-north")
    south = await auth_headers(client, "dist-south", client_id="south")
    mine = (await client.get("/replenishment/suggestions", params={"to_order": True}, headers=north)).json()
    assert sorted(s["kind"] for s in mine["items"]) == ["purchase", "sales"]
    assert (await client.get("/replenishment/suggestions", headers=south)).json()["items"] == []
    theirs = await client.post(
        "/replenishment/orders",
        json={"org_id": dist.id, "suggestion_ids": [mine["items"][0]["id"]]},
        headers=south,
    )
    assert (theirs.status_code, theirs.json()["code"]) == (404, "suggestion_not_found")
    bad = await client.post(
        "/replenishment/orders", json={"org_id": dist.id, "order_id": "nope"}, headers=north
    )
    assert bad.status_code == 400
    draft = await client.post("/replenishment/orders", json={"org_id": dist.id}, headers=north)
    assert draft.status_code == 201, draft.text
    assert (draft.json()["kind"], draft.json()["state"], draft.json()["lines"]) == ("purchase", "draft", 1)
    order = (await client.get(f"/orders/{draft.json()['order_id']}", headers=north)).json()
    assert [(line["product_id"], line["qty"]) for line in order["lines"]] == [(yes.id, 96)]
    again = await client.post("/replenishment/orders", json={"org_id": dist.id}, headers=north)
    assert (again.status_code, again.json()["code"]) == (422, "nothing_to_order")

    phone = await signed_in_phone(client, "field-north")
    await wait_for_watermark(session_factory)
    await phone.pull()
    pulled = {i: d for (_s, e, i), (_v, d) in phone.rows().items() if e == "replenishment_suggestion"}
    shelves = [
        (s["terminal_id"], s["suggested_qty"], s["reason"]) for s in pulled.values() if s["kind"] == "sales"
    ]
    assert shelves == [
        (shop.id, 12, "sold 9 in 7 days, 11 on hand, 2 days lead time; order 12 (1 pack of 12)")
    ]
    order_id = new_id()
    made = phone.mutate("suggestion.order", {"order_id": order_id, "org_id": shop.id})
    await phone.push_all()
    assert phone.result(made)["data"] == {"order_id": order_id, "kind": "sales", "state": "draft"}
    async with session_factory() as session:
        lines = (
            (await session.execute(select(OrderLine).where(OrderLine.order_id == order_id))).scalars().all()
        )
        assert [(line.product_id, line.qty) for line in lines] == [(yes.id, 12)]
    south_phone = await signed_in_phone(client, "dist-south")
    await south_phone.pull()
    assert not [e for (_s, e, _i) in south_phone.rows() if e == "replenishment_suggestion"]
