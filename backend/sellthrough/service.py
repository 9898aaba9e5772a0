"""Sell-through for suppliers: what their distributors sold to shops, stock on hand at
distributors and on shelves, hot SKUs per region, SKUs at risk of running out.

Every figure is of the supplier's own products, for the distributors and categories it
authorises (``backend.sellthrough.access``), whatever the caller asks; administrators name the
supplier. Rows are folded in Python from one query per figure (weeks are ISO weeks, Monday
first, by the order's submission day in UTC).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog import Category, Product
from backend.db import utcnow
from backend.errors import InvalidInput
from backend.forecasting.models import Suggestion
from backend.identity import Actor, Organisation, Region
from backend.identity.errors import NotAllowed, OrgNotFound
from backend.inventory.models import StockLevel, StockLocation
from backend.orders.models import Order, OrderLine
from backend.sellthrough.access import entitled

GROUPS = ("sku", "category", "region", "week")
SOLD_STATES = ("submitted", "confirmed", "shipped", "delivered")
MAX_WEEKS = 52
HOT_PER_REGION = 5


class SellThroughRow(msgspec.Struct):
    key: str  # the SKU, category code, region name or week's Monday (ISO date)
    name: str
    qty: int
    orders: int
    distributors: int


class StockRow(msgspec.Struct):
    sku: str
    name: str
    warehouse_qty: int
    shelf_qty: int
    warehouses: int
    shelves: int


class HotSku(msgspec.Struct):
    region: str
    sku: str
    name: str
    qty: int  # the last four weeks
    previous_qty: int  # the four weeks before
    growth_pct: float | None


class RiskRow(msgspec.Struct):
    sku: str
    distributor: str
    place: str  # "warehouse" or the shop's name
    on_hand: int
    forecast_daily: float
    days_of_cover: float
    lead_time_days: float


class SellThroughSummary(msgspec.Struct):
    units_4w: int
    units_prev_4w: int
    top_skus: list[SellThroughRow]
    stock_warehouse_units: int
    stock_shelf_units: int
    at_risk: int


async def subject(session: AsyncSession, actor: Actor, supplier_id: str | None) -> str:
    """The supplier whose data is asked for: one's own, or any for administrators."""
    if actor.is_admin:
        if supplier_id is None:
            raise InvalidInput("name the supplier whose data you want", code="org_required")
    elif actor.org_kind != "supplier":
        raise NotAllowed("sell-through is for supplier staff")
    elif supplier_id is not None and supplier_id != actor.org_id:
        raise OrgNotFound(f"no supplier {supplier_id}")
    else:
        supplier_id = actor.org_id
    org = await session.get(Organisation, supplier_id)
    if org is None or org.kind != "supplier":
        raise OrgNotFound(f"no supplier {supplier_id}")
    return org.id


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def _sales(session: AsyncSession, supplier_id: str, since: date, until: date) -> list:
    start = datetime.combine(since, time.min, tzinfo=UTC)
    end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC)
    rows = await session.execute(
        select(
            Product.sku,
            Product.name,
            Category.code,
            Category.name,
            Region.name,
            Order.submitted_at,
            OrderLine.qty,
            Order.id,
            Order.distributor_id,
        )  # fmt: skip
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .join(Category, Category.id == Product.category_id)
        .join(Organisation, Organisation.id == Order.terminal_id)
        .outerjoin(Region, Region.id == Organisation.region_id)
        .where(
            Order.kind == "sales",
            Order.state.in_(SOLD_STATES),
            Order.submitted_at >= start,
            Order.submitted_at < end,
            Product.supplier_id == supplier_id,
            entitled(supplier_id, OrderLine.distributor_id, OrderLine.product_id),
        )
    )
    return list(rows)


async def sell_through(
    session: AsyncSession,
    actor: Actor,
    *,
    supplier_id: str | None = None,
    group: str = "sku",
    weeks: int = 8,
    today: date | None = None,
) -> list[SellThroughRow]:
    """Units sold to shops by ``group`` over the last ``weeks`` ISO weeks (this one included)."""
    supplier_id = await subject(session, actor, supplier_id)
    if group not in GROUPS:
        raise InvalidInput(f"group must be one of {', '.join(GROUPS)}", code="invalid_group")
    if not 1 <= weeks <= MAX_WEEKS:
        raise InvalidInput(f"weeks is 1 to {MAX_WEEKS}", code="invalid_period")
    today = today or utcnow().date()
    since = _monday(today) - timedelta(weeks=weeks - 1)
    acc: dict[str, list] = {}
    for sku, name, cat_code, cat_name, region, at, qty, order_id, dist_id in await _sales(
        session, supplier_id, since, today
    ):
        key, label = {
            "sku": (sku, name),
            "category": (cat_code, cat_name),
            "region": (region or "", region or ""),
            "week": (
                _monday(at.astimezone(UTC).date()).isoformat(),
                f"week of {_monday(at.astimezone(UTC).date())}",
            ),
        }[group]
        row = acc.setdefault(key, [label, 0, set(), set()])
        row[1] += qty
        row[2].add(order_id)
        row[3].add(dist_id)
    out = [SellThroughRow(k, v[0], v[1], len(v[2]), len(v[3])) for k, v in acc.items()]
    out.sort(key=lambda r: r.key if group == "week" else (-r.qty, r.key))
    return out


async def stock_on_hand(
    session: AsyncSession, actor: Actor, *, supplier_id: str | None = None
) -> list[StockRow]:
    """Expected stock of each SKU in the authorised distributors' warehouses and their shops' shelves."""
    supplier_id = await subject(session, actor, supplier_id)
    rows = await session.execute(
        select(Product.sku, Product.name, StockLocation.kind, StockLevel.expected_qty)
        .join(Product, Product.id == StockLevel.product_id)
        .join(StockLocation, StockLocation.id == StockLevel.location_id)
        .where(
            Product.supplier_id == supplier_id,
            entitled(supplier_id, StockLevel.distributor_id, StockLevel.product_id),
        )
    )
    acc: dict[str, list] = {}
    for sku, name, kind, qty in rows:
        row = acc.setdefault(sku, [name, 0, 0, 0, 0])
        shelf = kind == "shelf"
        row[2 if shelf else 1] += max(qty, 0)
        row[4 if shelf else 3] += 1
    return [StockRow(sku, *v) for sku, v in sorted(acc.items())]


async def hot_skus(
    session: AsyncSession, actor: Actor, *, supplier_id: str | None = None, today: date | None = None
) -> list[HotSku]:
    """Per region (the shop's), the SKUs that sold most in the last four weeks, with growth on the
    four weeks before."""
    supplier_id = await subject(session, actor, supplier_id)
    today = today or utcnow().date()
    cut = today - timedelta(days=27)
    recent: dict[tuple[str, str], int] = defaultdict(int)
    previous: dict[tuple[str, str], int] = defaultdict(int)
    names: dict[str, str] = {}
    for sku, name, _cc, _cn, region, at, qty, _o, _d in await _sales(
        session, supplier_id, cut - timedelta(days=28), today
    ):
        names[sku] = name
        (recent if at.astimezone(UTC).date() >= cut else previous)[(region or "", sku)] += qty
    out: list[HotSku] = []
    for region in sorted({r for r, _ in recent}):
        ranked = sorted(((q, s) for (r, s), q in recent.items() if r == region), key=lambda x: (-x[0], x[1]))
        for qty, sku in ranked[:HOT_PER_REGION]:
            before = previous.get((region, sku), 0)
            growth = round(100 * (qty - before) / before, 1) if before else None
            out.append(HotSku(region, sku, names[sku], qty, before, growth))
    return out


async def stock_out_risk(
    session: AsyncSession, actor: Actor, *, supplier_id: str | None = None
) -> list[RiskRow]:
    """Places whose stock covers less than the lead time at the forecast rate (from the suggestions)."""
    supplier_id = await subject(session, actor, supplier_id)
    dist = Organisation.__table__.alias("dist")
    shop = Organisation.__table__.alias("shop")
    rows = await session.execute(
        select(Product.sku, dist.c.name, shop.c.name, Suggestion)
        .join(Product, Product.id == Suggestion.product_id)
        .join(dist, dist.c.id == Suggestion.distributor_id)
        .outerjoin(shop, shop.c.id == Suggestion.terminal_id)
        .where(
            Suggestion.supplier_id == supplier_id,
            Suggestion.forecast_daily > 0,
            entitled(supplier_id, Suggestion.distributor_id, Suggestion.product_id),
        )
    )
    out = []
    for sku, dist_name, shop_name, s in rows:
        cover = s.on_hand / s.forecast_daily
        if cover < s.lead_time_days:
            out.append(
                RiskRow(
                    sku,
                    dist_name,
                    shop_name or "warehouse",
                    s.on_hand,
                    s.forecast_daily,
                    round(cover, 1),
                    s.lead_time_days,
                )
            )
    out.sort(key=lambda r: (r.days_of_cover, r.sku, r.distributor, r.place))
    return out


async def summary(session: AsyncSession, supplier_id: str, today: date) -> SellThroughSummary:
    """The supplier workbench's sell-through block (the caller has checked who asks)."""
    staff = Actor(user_id="", org_id=supplier_id, org_kind="supplier", role="supplier_staff")
    recent = await _sales(session, supplier_id, today - timedelta(days=55), today)
    cut = today - timedelta(days=27)
    units = sum(r[6] for r in recent if r[5].astimezone(UTC).date() >= cut)
    by_sku: dict[str, list] = {}
    for sku, name, _cc, _cn, _r, at, qty, order_id, dist_id in recent:
        if at.astimezone(UTC).date() < cut:
            continue
        row = by_sku.setdefault(sku, [name, 0, set(), set()])
        row[1] += qty
        row[2].add(order_id)
        row[3].add(dist_id)
    top = sorted(
        (SellThroughRow(k, v[0], v[1], len(v[2]), len(v[3])) for k, v in by_sku.items()),
        key=lambda r: (-r.qty, r.key),
    )[:5]
    stock = await stock_on_hand(session, staff, supplier_id=supplier_id)
    return SellThroughSummary(
        units_4w=units,
        units_prev_4w=sum(r[6] for r in recent) - units,
        top_skus=top,
        stock_warehouse_units=sum(s.warehouse_qty for s in stock),
        stock_shelf_units=sum(s.shelf_qty for s in stock),
        at_risk=len(await stock_out_risk(session, staff, supplier_id=supplier_id)),
    )
