"""Demo stock: a month of counts in every warehouse and some shelves, with movements between
counts and a few discrepancies."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog import ChannelAuthorisation, Product
from backend.db import utcnow
from backend.demo_network import DemoNetwork
from backend.identity import Actor, Organisation
from backend.inventory.service import record_movement, record_stock_check
from backend.territory.demo import demo_actor, terminals_of

# Per distributor on the full demo network (1,000 SKUs); smaller networks (tests) get fewer.
WAREHOUSE_SKUS = 15
SHELF_SKUS = 5
SHELVES_PER_DISTRIBUTOR = 2
COUNTS = 3


def _counter(net: DemoNetwork, distributor: Organisation) -> Actor:
    """Who counts a distributor's stock in the demo: its demo staff user, else the administrator."""
    for username in ("dist-north", "dist-south"):
        user = net.users.get(username)
        if user is not None and user.org_id == distributor.id:
            return demo_actor(net, username)
    return demo_actor(net, "admin")


async def _stocked_products(
    session: AsyncSession, net: DemoNetwork, distributor: Organisation
) -> list[Product]:
    categories = set(
        (
            await session.execute(
                select(ChannelAuthorisation.category_id).where(
                    ChannelAuthorisation.distributor_id == distributor.id
                )
            )
        ).scalars()
    )
    return [p for p in net.products if p.category_id in categories]


async def _history(
    session: AsyncSession, net: DemoNetwork, who: Actor, org_id: str, products: list[Product], ref: str
) -> None:
    """Counts ten days apart; deliveries and sales in between; now and then a count that is off."""
    rng = net.rng
    start = utcnow() - timedelta(days=10 * COUNTS)
    for product in products:
        qty = rng.randrange(20, 200)
        for n in range(COUNTS):
            observed = start + timedelta(days=10 * n, hours=rng.randrange(8, 18))
            counted = qty if rng.random() > 0.12 else max(0, int(qty * rng.choice([0.5, 0.7, 1.4])))
            await record_stock_check(
                session,
                who,
                check_id=None,
                org_id=org_id,
                product_id=product.id,
                counted_qty=counted,
                observed_at=observed,
                device_id="demo-phone",
            )
            qty = counted
            # one movement between counts: a delivery in, or sales out
            delta = rng.randrange(10, 60) if rng.random() < 0.5 else -rng.randrange(0, qty + 1)
            if delta and n < COUNTS - 1:
                await record_movement(
                    session,
                    org_id=org_id,
                    product_id=product.id,
                    qty_delta=delta,
                    reason="delivery" if delta > 0 else "sale",
                    ref_id=f"demo-{ref}-{n}",
                    occurred_at=observed + timedelta(days=4),
                )
                qty += delta


async def seed(session: AsyncSession, net: DemoNetwork) -> None:
    """Add this domain's demo rows to session (the caller commits)."""
    net.progress("stock history")
    scale = min(1.0, len(net.products) / 1000)
    warehouse_skus, shelf_skus = max(2, round(WAREHOUSE_SKUS * scale)), max(1, round(SHELF_SKUS * scale))
    for distributor in net.distributors:
        who = _counter(net, distributor)
        products = await _stocked_products(session, net, distributor)
        if not products:
            continue
        await _history(
            session,
            net,
            who,
            distributor.id,
            net.rng.sample(products, min(warehouse_skus, len(products))),
            "wh",
        )
        for shop in terminals_of(net, distributor.id)[:SHELVES_PER_DISTRIBUTOR]:
            shelf = net.rng.sample(products, min(shelf_skus, len(products)))
            await _history(session, net, who, shop.id, shelf, shop.code)
