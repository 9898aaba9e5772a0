"""Channel rules at submission: region authorisation, prices and regional quota."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, select

from backend.catalog import PriceEntry, RegionalQuota
from backend.catalog import service as catalog
from backend.db import new_id
from backend.errors import DomainError
from backend.identity import Organisation, Region
from backend.orders import QuotaUse
from backend.orders import service as orders
from tests.orders.kit import bring_to, purchase, sale, set_category_quota, this_month


async def _used(session, quota_id: str) -> int:
    return (
        await session.execute(
            select(RegionalQuota.used_qty)
            .where(RegionalQuota.id == quota_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


async def _submit_error(session, cast, order_id: str) -> DomainError:
    with pytest.raises(DomainError) as err:
        await orders.submit_order(session, cast["dist_staff"], order_id=order_id)
    return err.value


async def test_quota_exact_boundary(session, cast):
    bev, bev2 = cast.product("beverages"), cast.product("beverages", n=1)
    quota = await set_category_quota(session, cast, "beverages", 10)
    over = await purchase(session, cast, (bev, 6), (bev2, 5))  # 11 of the category
    err = await _submit_error(session, cast, over.id)
    assert err.code == "quota_exceeded" and err.details["remaining"] == 10
    assert err.details["quotas"][0]["requested"] == 11
    assert await _used(session, quota.id) == 0
    exact = await purchase(session, cast, (bev, 5), (bev2, 5))
    await orders.submit_order(session, cast["dist_staff"], order_id=exact.id)
    assert await _used(session, quota.id) == 10
    one_more = await purchase(session, cast, (bev, 1))
    err = await _submit_error(session, cast, one_more.id)
    assert err.code == "quota_exceeded" and err.details["remaining"] == 0
    # Another category's quota is untouched by these orders.
    other = await purchase(session, cast, (cast.product("snacks"), 1))
    assert (await orders.submit_order(session, cast["dist_staff"], order_id=other.id)).state == "submitted"


async def test_sku_and_category_quotas_both_apply(session, cast):
    bev, bev2 = cast.product("beverages"), cast.product("beverages", n=1)
    category = await set_category_quota(session, cast, "beverages", 100)
    start, end = this_month()
    sku = await catalog.set_quota(
        session,
        cast["admin"],
        supplier_id=cast.supplier.id,
        distributor_id=cast.distributor.id,
        region_id=cast.distributor.region_id,
        period_start=start,
        period_end=end,
        limit_qty=4,
        product_id=bev,
    )
    order = await purchase(session, cast, (bev, 5), (bev2, 20))
    err = await _submit_error(session, cast, order.id)
    assert err.details["remaining"] == 4 and err.details["quotas"][0]["quota_id"] == sku.id
    await orders.set_line(session, cast["dist_staff"], order_id=order.id, product_id=bev, qty=4)
    await orders.submit_order(session, cast["dist_staff"], order_id=order.id)
    assert await _used(session, sku.id) == 4 and await _used(session, category.id) == 24


async def test_quotas_outside_the_period_or_region_do_not_apply(session, cast):
    bev = cast.product("beverages")
    await set_category_quota(session, cast, "beverages", 1000)
    start, _ = this_month()
    south = cast.net.org("dist-20").region_id
    for region, period in (
        (
            cast.distributor.region_id,
            (start.replace(year=start.year - 1), start.replace(year=start.year - 1)),
        ),
        (south, this_month()),
    ):
        await catalog.set_quota(
            session,
            cast["admin"],
            supplier_id=cast.supplier.id,
            distributor_id=cast.distributor.id,
            region_id=region,
            period_start=period[0],
            period_end=period[1],
            limit_qty=0,
            product_id=bev,
        )
    order = await purchase(session, cast, (bev, 3))
    assert (await orders.submit_order(session, cast["dist_staff"], order_id=order.id)).state == "submitted"
    # A quota on the country (above the distributor's province) does apply.
    country = (await session.get(Region, cast.distributor.region_id)).parent_id
    await catalog.set_quota(
        session,
        cast["admin"],
        supplier_id=cast.supplier.id,
        distributor_id=cast.distributor.id,
        region_id=country,
        period_start=start,
        period_end=this_month()[1],
        limit_qty=2,
        product_id=bev,
    )
    order = await purchase(session, cast, (bev, 3))
    assert (await _submit_error(session, cast, order.id)).details["remaining"] == 2


async def test_reject_and_cancel_release_exactly_what_was_taken(session, cast):
    bev = cast.product("beverages")
    quota = await set_category_quota(session, cast, "beverages", 10, used=3)
    for how in ("reject", "cancel"):
        order = await bring_to(session, cast, await purchase(session, cast, (bev, 7)), "submitted")
        assert await _used(session, quota.id) == 10
        if how == "reject":
            await orders.reject_order(session, cast["supplier"], order_id=order.id, reason="no stock")
        else:
            await orders.cancel_order(session, cast["dist_staff"], order_id=order.id)
        assert await _used(session, quota.id) == 3, how
        assert (await session.execute(select(QuotaUse).where(QuotaUse.order_id == order.id))).first() is None
    # The released quantity can be ordered again.
    again = await purchase(session, cast, (bev, 7))
    assert (await orders.submit_order(session, cast["dist_staff"], order_id=again.id)).state == "submitted"
    # Cancelling a draft releases nothing it never took.
    draft = await purchase(session, cast, (bev, 1))
    await orders.cancel_order(session, cast["dist_staff"], order_id=draft.id)
    assert await _used(session, quota.id) == 10


async def test_sales_orders_do_not_consume_the_purchase_quota(session, cast):
    quota = await set_category_quota(session, cast, "beverages", 0)
    order = await sale(session, cast, (cast.product("beverages"), 5))
    assert (await orders.submit_order(session, cast["field"], order_id=order.id)).state == "submitted"
    assert await _used(session, quota.id) == 0


async def test_concurrent_submitters_never_overspend(session_factory, network, cast):
    """Twelve submitters on separate connections race for a quota of 10, three units each."""
    bev = cast.product("beverages")
    async with session_factory() as s:
        quota = await set_category_quota(s, cast, "beverages", 10)
        ids = [(await purchase(s, cast, (bev, 3))).id for _ in range(12)]
        await s.commit()
    start = asyncio.Event()

    async def submit(order_id: str) -> str:
        async with session_factory() as s:
            await start.wait()
            try:
                await orders.submit_order(s, cast["dist_staff"], order_id=order_id)
                await s.commit()
                return "ok"
            except DomainError as err:
                await s.rollback()
                return err.code

    tasks = [asyncio.create_task(submit(i)) for i in ids]
    await asyncio.sleep(0.05)
    start.set()
    results = await asyncio.gather(*tasks)
    assert sorted(results) == ["ok"] * 3 + ["quota_exceeded"] * 9
    async with session_factory() as s:
        assert await _used(s, quota.id) == 9
        assert sum((await s.execute(select(QuotaUse.qty))).scalars()) == 9


async def test_the_same_order_submitted_twice_at_once_consumes_once(session_factory, network, cast):
    bev = cast.product("beverages")
    async with session_factory() as s:
        quota = await set_category_quota(s, cast, "beverages", 100)
        order_id = (await purchase(s, cast, (bev, 4))).id
        await s.commit()

    async def submit() -> str:
        async with session_factory() as s:
            try:
                await orders.submit_order(s, cast["dist_staff"], order_id=order_id)
                await s.commit()
                return "ok"
            except DomainError as err:
                return err.code

    assert sorted(await asyncio.gather(submit(), submit(), submit())) == ["invalid_transition"] * 2 + ["ok"]
    async with session_factory() as s:
        assert await _used(s, quota.id) == 4


async def test_unauthorised_category_is_refused_for_the_region(session, cast):
    household = cast.product("household")  # dist-00 sells beverages, snacks and dairy only
    order = await purchase(session, cast, (cast.product("beverages"), 1), (household, 2))
    err = await _submit_error(session, cast, order.id)
    assert err.code == "not_authorised_for_region"
    assert (
        err.details["product_ids"] == [household] and err.details["region_id"] == cast.distributor.region_id
    )
    assert (await orders.get_order(session, cast["dist_staff"], order_id=order.id)).state == "draft"
    # A SKU without a price in the distributor's price list is refused too.
    bev = cast.product("beverages")
    await session.execute(
        delete(PriceEntry).where(
            PriceEntry.distributor_id == cast.distributor.id, PriceEntry.product_id == bev
        )
    )
    order = await purchase(session, cast, (bev, 1))
    err = await _submit_error(session, cast, order.id)
    assert err.code == "price_missing" and err.details["product_ids"] == [bev]


async def test_selling_at_a_terminal_outside_the_authorised_region_is_refused(session, cast):
    south_city = (await session.get(Organisation, cast.net.org("shop-005").id)).region_id
    outpost = Organisation(
        kind="terminal",
        name="Outpost",
        code="shop-outpost",
        region_id=south_city,
        parent_id=cast.distributor.id,
    )
    session.add(outpost)
    await session.flush()
    order = await orders.create_order(
        session,
        cast["dist_staff"],
        order_id=new_id(),
        kind="sales",
        terminal_id=outpost.id,
        lines=[(cast.product("beverages"), 1)],
    )
    with pytest.raises(DomainError) as err:
        await orders.submit_order(session, cast["dist_staff"], order_id=order.id)
    assert err.value.code == "not_authorised_for_region" and err.value.details["region_id"] == south_city
