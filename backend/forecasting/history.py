"""Reading sell-through histories out of the central store, one query per source.

- A **warehouse** sells what its distributor's sales orders at terminals took (by submission
  day; drafts, rejected and cancelled orders do not count).
- A **shelf** sells what the counts say went: between two counts, ``earlier count + deliveries
  accepted in between − later count``, spread evenly over the days between them. The series
  ends at the latest count (nothing is known after it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.inventory.models import StockCheck, StockLocation, StockMovement
from backend.orders.models import Order, OrderLine

HISTORY_DAYS = 84
SOLD_STATES = ("submitted", "confirmed", "shipped", "delivered")
OPEN_STATES = ("submitted", "confirmed", "shipped")


@dataclass(slots=True)
class History:
    location: StockLocation
    product_id: str
    start: date
    demand: list[float]


def _day(at: datetime) -> date:
    return at.astimezone(UTC).date()


async def warehouse_histories(
    session: AsyncSession, warehouses: dict[str, StockLocation], today: date
) -> list[History]:
    """Daily sales out of each warehouse (keyed by distributor) per SKU, from its first sale in the
    window up to yesterday."""
    since = datetime.combine(today - timedelta(days=HISTORY_DAYS), time.min, tzinfo=UTC)
    until = datetime.combine(today, time.min, tzinfo=UTC)
    rows = await session.execute(
        select(Order.distributor_id, OrderLine.product_id, Order.submitted_at, OrderLine.qty)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(
            Order.kind == "sales",
            Order.state.in_(SOLD_STATES),
            Order.distributor_id.in_(sorted(warehouses)),
            Order.submitted_at >= since,
            Order.submitted_at < until,
        )
    )
    sold: dict[tuple[str, str], dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for distributor_id, product_id, at, qty in rows:
        sold[(distributor_id, product_id)][_day(at)] += qty
    out = []
    for (distributor_id, product_id), by_day in sorted(sold.items()):
        start = min(by_day)
        days = (today - start).days
        out.append(
            History(
                warehouses[distributor_id],
                product_id,
                start,
                [by_day.get(start + timedelta(days=i), 0.0) for i in range(days)],
            )
        )
    return out


async def shelf_histories(
    session: AsyncSession, shelves: dict[str, StockLocation], today: date
) -> list[History]:
    """Daily consumer sales off each shelf (keyed by location id) per SKU, from counts and deliveries."""
    since = datetime.combine(today - timedelta(days=HISTORY_DAYS), time.min, tzinfo=UTC)
    ids = sorted(shelves)
    counts = await session.execute(
        select(StockCheck.location_id, StockCheck.product_id, StockCheck.observed_at, StockCheck.counted_qty)
        .where(StockCheck.location_id.in_(ids), StockCheck.observed_at >= since)
        .order_by(StockCheck.location_id, StockCheck.product_id, StockCheck.observed_at, StockCheck.id)
    )
    series: dict[tuple[str, str], list[tuple[datetime, int]]] = defaultdict(list)
    for location_id, product_id, at, qty in counts:
        series[(location_id, product_id)].append((at, qty))
    moves = await session.execute(
        select(
            StockMovement.location_id,
            StockMovement.product_id,
            StockMovement.occurred_at,
            StockMovement.qty_delta,
        ).where(
            StockMovement.location_id.in_(ids),
            StockMovement.occurred_at >= since,
            StockMovement.qty_delta > 0,
        )
    )
    deliveries: dict[tuple[str, str], list[tuple[datetime, int]]] = defaultdict(list)
    for location_id, product_id, at, qty in moves:
        deliveries[(location_id, product_id)].append((at, qty))
    out = []
    for key, points in sorted(series.items()):
        if len(points) < 2:
            continue
        start = _day(points[0][0])
        demand = [0.0] * ((_day(points[-1][0]) - start).days + 1)
        for (t1, c1), (t2, c2) in zip(points, points[1:], strict=False):
            delivered = sum(q for at, q in deliveries.get(key, ()) if t1 < at <= t2)
            sold = max(0, c1 + delivered - c2)
            first, last = (_day(t1) - start).days + 1, (_day(t2) - start).days
            span = list(range(min(first, last), last + 1)) or [last]
            for day in span:
                demand[day] += sold / len(span)
        out.append(History(shelves[key[0]], key[1], start + timedelta(days=1), demand[1:]))
    return [h for h in out if h.demand]


async def on_order(session: AsyncSession, kind: str, party_ids: list[str]) -> dict[tuple[str, str], int]:
    """Units ordered and not yet delivered, by (distributor for purchases | terminal for sales, SKU)."""
    party = Order.distributor_id if kind == "purchase" else Order.terminal_id
    rows = await session.execute(
        select(party, OrderLine.product_id, func.sum(OrderLine.qty))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.kind == kind, Order.state.in_(OPEN_STATES), party.in_(party_ids))
        .group_by(party, OrderLine.product_id)
    )
    return {(p, pid): int(q) for p, pid, q in rows}


async def lead_times(session: AsyncSession, kind: str) -> dict[tuple[str | None, str | None], float]:
    """Observed days from submission to delivery: purchases by (supplier, distributor) and by
    (supplier, None); sales by (None, distributor)."""
    rows = await session.execute(
        select(Order.supplier_id, Order.distributor_id, Order.submitted_at, Order.delivered_at).where(
            Order.kind == kind, Order.state == "delivered", Order.submitted_at.is_not(None)
        )
    )
    spans: dict[tuple[str | None, str | None], list[float]] = defaultdict(list)
    for supplier_id, distributor_id, submitted, delivered in rows:
        if delivered is None or submitted is None:
            continue
        days = max(0.0, (delivered - submitted).total_seconds() / 86400)
        if kind == "purchase":
            spans[(supplier_id, distributor_id)].append(days)
            spans[(supplier_id, None)].append(days)
        else:
            spans[(None, distributor_id)].append(days)
    return {k: round(sum(v) / len(v), 1) for k, v in spans.items()}
