"""Sell-through back to suppliers: only their own products, only where they authorise the
distributor; by SKU, category, region and week; CSV; stock, hot SKUs, stock-out risk; workbench."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backend.catalog import ChannelAuthorisation
from backend.db import new_id
from backend.forecasting import compute_suggestions
from backend.inventory import record_stock_check
from tests.factories import auth_headers
from tests.inventory.helpers import actor, terminal_of
from tests.replenishment.test_suggestions import _sale

NOW = datetime.now(UTC)


async def _authorised(session, dist_id: str, supplier_id: str) -> set[str]:
    rows = await session.execute(
        select(ChannelAuthorisation.category_id).where(
            ChannelAuthorisation.distributor_id == dist_id, ChannelAuthorisation.supplier_id == supplier_id
        )
    )
    return set(rows.scalars())


async def test_sell_through_is_the_suppliers_own_and_authorised(client, session_factory, network):
    dist, shop, rep = network.org("dist-00"), terminal_of(network, "dist-00"), network.user("field-north")
    sup_a, sup_b = network.org("sup-a"), network.org("sup-b")
    async with session_factory() as session:
        ok_a, ok_b = (
            await _authorised(session, dist.id, sup_a.id),
            await _authorised(session, dist.id, sup_b.id),
        )
        products = sorted(network.products.values(), key=lambda p: p.sku)
        a_yes = next(p for p in products if p.supplier_id == sup_a.id and p.category_id in ok_a)
        a_no = next(p for p in products if p.supplier_id == sup_a.id and p.category_id not in ok_a)
        b_yes = next(p for p in products if p.supplier_id == sup_b.id and p.category_id in ok_b)
        for back in range(1, 15):
            day = (NOW - timedelta(days=back)).date()
            for product, qty in ((a_yes, 5), (a_no, 7), (b_yes, 3)):
                session.add_all(_sale(dist, shop, rep, product, qty, day))
        for product in (a_yes, b_yes, a_no):
            await record_stock_check(
                session, actor(network, "dist-north"), check_id=new_id(), org_id=shop.id,
                product_id=product.id, counted_qty=2, observed_at=NOW - timedelta(hours=1), device_id=None,
            )  # fmt: skip
        await compute_suggestions(session)
        await session.commit()

    a = await auth_headers(client, "supplier-a", client_id="a")
    b = await auth_headers(client, "supplier-b", client_id="b")
    north = await auth_headers(client, "dist-north")
    by_sku = (
        await client.get("/supplier-data/sell-through", params={"group": "sku", "weeks": 4}, headers=a)
    ).json()
    assert [(r["key"], r["qty"], r["orders"], r["distributors"]) for r in by_sku] == [(a_yes.sku, 70, 14, 1)]
    theirs = (await client.get("/supplier-data/sell-through", headers=b)).json()
    assert [(r["key"], r["qty"]) for r in theirs] == [(b_yes.sku, 42)]
    weeks = (await client.get("/supplier-data/sell-through", params={"group": "week"}, headers=a)).json()
    assert sum(r["qty"] for r in weeks) == 70 and len(weeks) in (2, 3, 4)
    regions = (await client.get("/supplier-data/sell-through", params={"group": "region"}, headers=a)).json()
    assert [r["qty"] for r in regions] == [70]
    cats = (await client.get("/supplier-data/sell-through", params={"group": "category"}, headers=a)).json()
    assert len(cats) == 1 and cats[0]["qty"] == 70
    csv_response = await client.get("/supplier-data/sell-through.csv", params={"group": "sku"}, headers=a)
    assert csv_response.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(csv_response.text)))
    assert table == [
        ["key", "name", "qty", "orders", "distributors"],
        [a_yes.sku, a_yes.name, "70", "14", "1"],
    ]

    stock = (await client.get("/supplier-data/stock", headers=a)).json()
    assert [(r["sku"], r["shelf_qty"], r["shelves"]) for r in stock] == [(a_yes.sku, 2, 1)]
    hot = (await client.get("/supplier-data/hot-skus", headers=a)).json()
    assert [(h["sku"], h["qty"]) for h in hot] == [(a_yes.sku, 70)]
    risk = (await client.get("/supplier-data/stock-out-risk", headers=a)).json()
    assert {r["sku"] for r in risk} == {a_yes.sku} and all(
        r["days_of_cover"] < r["lead_time_days"] for r in risk
    )
    assert "warehouse" in {r["place"] for r in risk}

    # another supplier's data answers 404; a distributor is not a supplier; bad input is a 400
    assert (
        await client.get("/supplier-data/stock", params={"supplier_id": sup_b.id}, headers=a)
    ).status_code == 404
    assert (await client.get("/supplier-data/sell-through", headers=north)).status_code == 403
    assert (
        await client.get("/supplier-data/sell-through", params={"group": "colour"}, headers=a)
    ).status_code == 400
    assert (
        await client.get("/supplier-data/sell-through", params={"weeks": 99}, headers=a)
    ).status_code == 400

    figures = (await client.get("/workbench/supplier", headers=a)).json()
    assert figures["sell_through"]["units_4w"] == 70 and figures["sell_through"]["at_risk"] == len(risk)
    assert [t["key"] for t in figures["sell_through"]["top_skus"]] == [a_yes.sku]
