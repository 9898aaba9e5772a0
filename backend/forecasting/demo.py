"""Demo sell-through history and suggestions: eight weeks of the north distributor's sales to its
shops (a weekly pattern, a promotion week, a few sparse SKUs), near-daily shelf counts on
field-north's first shops, two delivered purchase orders (observed lead times), then one run of
the suggestion worker. History rows are written as the facts they are (delivered orders, counts),
dated in the past; the state machine is exercised by ``backend/orders/demo.py``."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog import ChannelAuthorisation, Product
from backend.db import new_id, utcnow
from backend.demo_network import DemoNetwork
from backend.forecasting.service import compute_suggestions
from backend.inventory.service import record_stock_check
from backend.orders.models import Order, OrderLine
from backend.territory.demo import demo_actor
from backend.territory.service import route_terminal_ids

WEEKS = 8
SKUS = 8
ORDERING_SHOPS = 3
COUNTED_SHOPS = 2
COUNTED_SKUS = 2
WEEKLY = [0.8, 0.8, 0.9, 1.0, 1.1, 1.4, 1.0]


def _order(kind: str, dist_id: str, creator: str, at: datetime, **parties: str) -> Order:
    return Order(
        id=new_id(), kind=kind, distributor_id=dist_id, state="delivered", created_by=creator, created_at=at,
        submitted_at=at, confirmed_at=at, shipped_at=at, delivered_at=at, **parties,
    )  # fmt: skip


async def seed(session: AsyncSession, net: DemoNetwork) -> None:
    net.progress("sell-through history and replenishment suggestions")
    rng = net.rng
    dist = net.distributors[0]
    rep = demo_actor(net, "field-north")
    categories = set(
        (
            await session.execute(
                select(ChannelAuthorisation.category_id).where(ChannelAuthorisation.distributor_id == dist.id)
            )
        ).scalars()
    )
    products = [
        p
        for p in (await session.execute(select(Product).order_by(Product.sku))).scalars()
        if p.category_id in categories
    ][:SKUS]
    shops = [t for t in net.terminals if t.parent_id == dist.id][:20]
    today = utcnow().date()
    promo_week = 5
    plans = []
    for n, product in enumerate(products):
        sparse = n % 4 == 3
        plans.append((product, sparse, rng.uniform(0.3, 1.2) if sparse else rng.uniform(3, 12)))
    for back in range(WEEKS * 7, 0, -1):
        day = today - timedelta(days=back)
        lift = 1.8 if (WEEKS * 7 - back) // 7 == promo_week else 1.0
        # one order a day from each of a few shops, with a line for each SKU it took that day
        by_shop: dict[str, dict[str, int]] = {}
        for product, sparse, base in plans:
            mean = base * WEEKLY[day.weekday()] * lift
            if sparse:
                qty = sum(1 for _ in range(int(mean * 3) + 1) if rng.random() < mean / (int(mean * 3) + 1))
            else:
                qty = round(rng.gauss(mean, mean**0.5))
            if qty > 0:
                shop = rng.choice(shops[:ORDERING_SHOPS])
                by_shop.setdefault(shop.id, {})[product.id] = qty
        for shop_id, lines in by_shop.items():
            at = datetime.combine(day, time(rng.randrange(1, 10), rng.randrange(60)), tzinfo=UTC)
            order = _order("sales", dist.id, rep.user_id, at, terminal_id=shop_id)
            session.add(order)
            session.add_all(
                OrderLine(
                    order_id=order.id,
                    product_id=pid,
                    qty=qty,
                    kind="sales",
                    distributor_id=dist.id,
                    terminal_id=shop_id,
                )  # fmt: skip
                for pid, qty in lines.items()
            )
    # two purchase orders per supplier, delivered 4 and 6 days after submission
    staff = demo_actor(net, "dist-north")
    for supplier in net.suppliers:
        for lead in (4, 6):
            at = datetime.combine(today - timedelta(days=20 + lead), time(3), tzinfo=UTC)
            order = _order("purchase", dist.id, staff.user_id, at, supplier_id=supplier.id)
            order.delivered_at = at + timedelta(days=lead)
            session.add(order)
    await session.flush()
    # near-daily shelf counts on the rep's first shops
    route = await route_terminal_ids(session, rep.user_id)
    for terminal_id in route[:COUNTED_SHOPS]:
        for product in products[:COUNTED_SKUS]:
            qty = rng.randrange(30, 60)
            for back in range(28, 0, -1):
                if rng.random() < 0.25:
                    continue
                qty = max(0, qty - rng.randrange(0, 4))
                if qty < 5:
                    qty += 24  # a delivery the counts saw
                at = datetime.combine(today - timedelta(days=back), time(8), tzinfo=UTC)
                await record_stock_check(
                    session, rep, check_id=new_id(), org_id=terminal_id, product_id=product.id,
                    counted_qty=qty, observed_at=at, device_id=None,
                )  # fmt: skip
    await compute_suggestions(session, distributor_ids=[dist.id])
