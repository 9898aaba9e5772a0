"""Workbench figures for the phone's dashboard: a handful of SQL aggregates, no row loops.

A distributor sees its orders by state, this period's quota use per SKU or category, the value
and the low SKUs of its warehouse stock, open discrepancies and its terminals' inspection
scores. A supplier sees sell-in by distributor and by region, the acceptance discrepancy rate
and quota use. Each figure is scoped to the caller's organisation (administrators name one).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.acceptance.models import Acceptance, Claim
from backend.catalog import Category, PriceEntry, Product, RegionalQuota
from backend.db import utcnow
from backend.errors import InvalidInput
from backend.identity import Actor, Organisation, Region
from backend.identity.errors import NotAllowed, OrgNotFound
from backend.inspections.models import IN_PROGRESS, SUBMITTED, Inspection
from backend.inventory.models import StockLevel, StockLocation
from backend.orders.models import Order, OrderLine
from backend.requests.service import request_figures
from backend.sellthrough.access import authorised_distributor_ids
from backend.sellthrough.service import summary as sell_through_summary
from backend.visits.figures import visit_figures
from backend.workbench.figures import (
    AcceptanceSummary,
    DiscrepancySummary,
    DistributorFigures,
    InspectionSummary,
    LowStockRow,
    QuotaTotals,
    QuotaUseRow,
    SellInRow,
    StateCount,
    StockSummary,
    SupplierFigures,
    TerminalScore,
)

SELL_IN_STATES = ("submitted", "confirmed", "shipped", "delivered")
LIST_LIMIT = 20


async def _subject(session: AsyncSession, actor: Actor, org_id: str | None, kind: str) -> str:
    """The organisation whose figures are asked for: one's own, or any for administrators."""
    if actor.is_admin:
        if org_id is None:
            raise InvalidInput(f"name the {kind} whose figures you want", code="org_required")
    else:
        if actor.org_kind != kind:
            raise NotAllowed(f"these figures are for {kind} staff")
        if org_id is not None and org_id != actor.org_id:
            raise OrgNotFound("no such organisation")  # another one's looks missing
        org_id = actor.org_id
    org = await session.get(Organisation, org_id)
    if org is None or org.kind != kind:
        raise OrgNotFound(f"no {kind} {org_id}")
    return org.id


def _pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _quota_rows(where: object, today: date) -> Select:
    target = func.coalesce(Product.sku, Category.code)
    return (
        select(RegionalQuota, target.label("target"))
        .outerjoin(Product, Product.id == RegionalQuota.product_id)
        .outerjoin(Category, Category.id == RegionalQuota.category_id)
        .where(where, RegionalQuota.period_start <= today, RegionalQuota.period_end >= today)
        .order_by(RegionalQuota.supplier_id, target, RegionalQuota.id)
    )


async def _quotas(session: AsyncSession, where: object, today: date) -> list[QuotaUseRow]:
    rows = (await session.execute(_quota_rows(where, today))).all()
    return [
        QuotaUseRow(
            quota_id=q.id,
            supplier_id=q.supplier_id,
            distributor_id=q.distributor_id,
            region_id=q.region_id,
            product_id=q.product_id,
            category_id=q.category_id,
            target=target or "",
            period_start=q.period_start,
            period_end=q.period_end,
            limit_qty=q.limit_qty,
            used_qty=q.used_qty,
            left_qty=max(q.limit_qty - q.used_qty, 0),
            used_pct=_pct(q.used_qty, q.limit_qty) or 0.0,
        )
        for q, target in rows
    ]


async def distributor_figures(
    session: AsyncSession,
    actor: Actor,
    *,
    distributor_id: str | None = None,
    today: date | None = None,
    low_stock_qty: int = 10,
) -> DistributorFigures:
    distributor_id = await _subject(session, actor, distributor_id, "distributor")
    today = today or utcnow().date()

    orders = await session.execute(
        select(Order.kind, Order.state, func.count())
        .where(Order.distributor_id == distributor_id)
        .group_by(Order.kind, Order.state)
        .order_by(Order.kind, Order.state)
    )

    warehouse = and_(
        StockLevel.distributor_id == distributor_id,
        StockLevel.location_id.in_(select(StockLocation.id).where(StockLocation.org_id == distributor_id)),
    )
    on_hand = func.greatest if session.bind.dialect.name == "postgresql" else func.max
    units = on_hand(StockLevel.expected_qty, literal(0))
    skus, total_units, value, low_count = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(units), 0),
                func.coalesce(func.sum(units * func.coalesce(PriceEntry.price_minor, 0)), 0),
                func.coalesce(func.sum(case((StockLevel.expected_qty <= low_stock_qty, 1), else_=0)), 0),
            )
            .select_from(StockLevel)
            .outerjoin(
                PriceEntry,
                and_(
                    PriceEntry.distributor_id == distributor_id,
                    PriceEntry.product_id == StockLevel.product_id,
                ),
            )
            .where(warehouse)
        )
    ).one()
    low = await session.execute(
        select(
            StockLevel.product_id,
            Product.sku,
            StockLevel.expected_qty,
            StockLevel.counted_qty,
            StockLevel.observed_at,
        )
        .join(Product, Product.id == StockLevel.product_id)
        .where(warehouse, StockLevel.expected_qty <= low_stock_qty)
        .order_by(StockLevel.expected_qty, Product.sku)
        .limit(LIST_LIMIT)
    )

    flagged = await session.scalar(
        select(func.count()).where(
            StockLevel.distributor_id == distributor_id, StockLevel.discrepancy.is_(True)
        )
    )
    open_claims = await session.scalar(
        select(func.count()).where(Claim.distributor_id == distributor_id, Claim.state == "open")
    )

    submitted, in_progress, avg = (
        await session.execute(
            select(
                func.coalesce(func.sum(case((Inspection.status == SUBMITTED, 1), else_=0)), 0),
                func.coalesce(func.sum(case((Inspection.status == IN_PROGRESS, 1), else_=0)), 0),
                func.avg(Inspection.score_pct),
            ).where(Inspection.distributor_id == distributor_id)
        )
    ).one()
    avg_by_terminal = func.avg(Inspection.score_pct)
    terminals = await session.execute(
        select(
            Inspection.terminal_id,
            Organisation.code,
            func.count(),
            avg_by_terminal,
            func.max(Inspection.submitted_at),
        )
        .join(Organisation, Organisation.id == Inspection.terminal_id)
        .where(Inspection.distributor_id == distributor_id, Inspection.status == SUBMITTED)
        .group_by(Inspection.terminal_id, Organisation.code)
        .order_by(avg_by_terminal, Organisation.code)
        .limit(LIST_LIMIT)
    )

    return DistributorFigures(
        distributor_id=distributor_id,
        as_of=today,
        orders_by_state=[StateCount(k, s, n) for k, s, n in orders],
        quotas=await _quotas(session, RegionalQuota.distributor_id == distributor_id, today),
        stock=StockSummary(
            skus=int(skus),
            units=int(total_units),
            value_minor=int(value),
            low_stock_count=int(low_count),
            low_stock=[LowStockRow(*row) for row in low],
        ),
        discrepancies=DiscrepancySummary(stock_levels=int(flagged or 0), open_claims=int(open_claims or 0)),
        inspections=InspectionSummary(
            submitted=int(submitted),
            in_progress=int(in_progress),
            avg_score_pct=None if avg is None else round(float(avg), 1),
            terminals=[
                TerminalScore(t, code, int(n), None if a is None else round(float(a), 1), last)
                for t, code, n, a, last in terminals
            ],
        ),
        visits=await visit_figures(session, [distributor_id], today=today, detail=True),
        requests=await request_figures(session, distributor_id=distributor_id),
    )


def _month(today: date) -> tuple[date, date]:
    start = today.replace(day=1)
    return start, (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)


async def supplier_figures(
    session: AsyncSession,
    actor: Actor,
    *,
    supplier_id: str | None = None,
    period_start: date | None = None,
    period_end: date | None = None,
    today: date | None = None,
) -> SupplierFigures:
    """Sell-in counts purchase orders submitted in the period (default: this month) that were not
    rejected or cancelled; the discrepancy rate is over acceptances of the supplier's deliveries."""
    supplier_id = await _subject(session, actor, supplier_id, "supplier")
    today = today or utcnow().date()
    default_start, default_end = _month(today)
    period_start, period_end = period_start or default_start, period_end or default_end
    if period_end < period_start:
        raise InvalidInput("period_end is before period_start", code="invalid_period")

    window_start = datetime.combine(period_start, time.min, tzinfo=UTC)
    window_end = datetime.combine(period_end + timedelta(days=1), time.min, tzinfo=UTC)
    sell_in = (
        select(
            Order.distributor_id.label("distributor_id"),
            func.count(func.distinct(Order.id)).label("orders"),
            func.coalesce(func.sum(OrderLine.qty), 0).label("qty"),
            func.coalesce(func.sum(OrderLine.line_total_minor), 0).label("value"),
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(
            Order.supplier_id == supplier_id,
            Order.kind == "purchase",
            Order.state.in_(SELL_IN_STATES),
            Order.submitted_at >= window_start,
            Order.submitted_at < window_end,
        )
        .group_by(Order.distributor_id)
        .subquery()
    )
    by_distributor = await session.execute(
        select(sell_in.c.distributor_id, Organisation.name, sell_in.c.orders, sell_in.c.qty, sell_in.c.value)
        .join(Organisation, Organisation.id == sell_in.c.distributor_id)
        .order_by(sell_in.c.value.desc(), Organisation.name)
    )
    by_region = await session.execute(
        select(
            Region.id,
            Region.name,
            func.sum(sell_in.c.orders),
            func.sum(sell_in.c.qty),
            func.sum(sell_in.c.value),
        )
        .select_from(sell_in)
        .join(Organisation, Organisation.id == sell_in.c.distributor_id)
        .join(Region, Region.id == Organisation.region_id)
        .group_by(Region.id, Region.name)
        .order_by(func.sum(sell_in.c.value).desc(), Region.name)
    )

    total, with_discrepancy = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((Acceptance.has_discrepancy.is_(True), 1), else_=0)), 0),
            ).where(Acceptance.supplier_id == supplier_id, Acceptance.kind == "purchase")
        )
    ).one()
    open_claims = await session.scalar(
        select(func.count()).where(Claim.supplier_id == supplier_id, Claim.state == "open")
    )
    quotas = await _quotas(session, RegionalQuota.supplier_id == supplier_id, today)
    limit_total = sum(q.limit_qty for q in quotas)
    used_total = sum(q.used_qty for q in quotas)

    def rows(result: object) -> list[SellInRow]:
        return [SellInRow(k, name, int(o), int(q), int(v)) for k, name, o, q, v in result]  # type: ignore[attr-defined]

    return SupplierFigures(
        supplier_id=supplier_id,
        period_start=period_start,
        period_end=period_end,
        sell_in_by_distributor=rows(by_distributor),
        sell_in_by_region=rows(by_region),
        acceptance=AcceptanceSummary(
            acceptances=int(total),
            with_discrepancy=int(with_discrepancy),
            discrepancy_rate=None if not total else round(int(with_discrepancy) / int(total), 4),
            open_claims=int(open_claims or 0),
        ),
        quota_totals=QuotaTotals(
            quotas=len(quotas),
            limit_qty=limit_total,
            used_qty=used_total,
            used_pct=_pct(used_total, limit_total),
        ),
        quotas=quotas,
        visits=await visit_figures(
            session, await authorised_distributor_ids(session, supplier_id), today=today, detail=False
        ),
        sell_through=await sell_through_summary(session, supplier_id, today),
        requests=await request_figures(session, supplier_id=supplier_id),
    )
