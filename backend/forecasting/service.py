"""Replenishment suggestions: computed by the worker, turned into draft orders by people.

For every warehouse × SKU and shelf × SKU with sell-through history the worker forecasts demand
(``backend.forecasting.model``), adds safety stock for the target service level, covers the
observed lead time plus the review period, subtracts stock on hand and on order, rounds up to
whole packs, and caps the result by the quota left (warehouses) and the channel authorisation
(a SKU the distributor may not sell there is never suggested). Each row carries its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog import ChannelAuthorisation, Product, RegionalQuota
from backend.catalog.service import region_ancestry
from backend.db import utcnow
from backend.forecasting import history as hist
from backend.forecasting.errors import NothingToOrder, SuggestionNotFound, SupplierRequired
from backend.forecasting.model import suggest
from backend.forecasting.models import Suggestion
from backend.identity import Actor, Organisation
from backend.inventory.models import StockLevel, StockLocation
from backend.inventory.service import location_for
from backend.orders import service as orders
from backend.orders.models import Order

DEFAULT_LEAD_DAYS = {"purchase": 7.0, "sales": 2.0}


def _period(days: int) -> str:
    return f"{days // 7} weeks" if days % 7 == 0 and days >= 14 else f"{days} days"


def reason_text(
    *,
    sold: int,
    days: int,
    on_hand: int,
    on_order: int,
    lead: float,
    qty: int,
    pack: int,
    bound: str,
    unbounded: int,
) -> str:
    """ "sold 46 in 4 weeks, 9 on hand, 6 days lead time; order 48 (4 packs of 12)"."""
    lead_text = f"{lead:g} day{'s' if lead != 1 else ''} lead time"
    parts = [f"sold {sold} in {_period(days)}", f"{on_hand} on hand"]
    if on_order:
        parts.append(f"{on_order} on order")
    parts.append(lead_text)
    text = ", ".join(parts)
    if bound == "not_authorised":
        return text + "; not authorised for this region, so not suggested"
    if qty == 0 and bound != "quota":
        return text + "; enough stock until the next order"
    n = qty // pack
    packs = f" ({n} pack{'s' if n != 1 else ''} of {pack})" if pack > 1 and qty else ""
    text += f"; order {qty}{packs}"
    if bound == "quota":
        text += f", capped by the quota left (wanted {unbounded})"
    return text


async def _allowed(
    session: AsyncSession, distributor_id: str, region_id: str | None, today: date
) -> set[tuple[str, str]]:
    ancestry = await region_ancestry(session, region_id)
    rows = await session.execute(
        select(ChannelAuthorisation.supplier_id, ChannelAuthorisation.category_id).where(
            ChannelAuthorisation.distributor_id == distributor_id,
            ChannelAuthorisation.active.is_(True),
            ChannelAuthorisation.region_id.in_(ancestry),
            or_(ChannelAuthorisation.valid_from.is_(None), ChannelAuthorisation.valid_from <= today),
            or_(ChannelAuthorisation.valid_to.is_(None), ChannelAuthorisation.valid_to >= today),
        )
    )
    return {(s, c) for s, c in rows}


async def _quota_left(
    session: AsyncSession, distributor_id: str, region_id: str | None, today: date
) -> list[RegionalQuota]:
    ancestry = await region_ancestry(session, region_id)
    return list(
        (
            await session.execute(
                select(RegionalQuota).where(
                    RegionalQuota.distributor_id == distributor_id,
                    RegionalQuota.region_id.in_(ancestry),
                    RegionalQuota.period_start <= today,
                    RegionalQuota.period_end >= today,
                )
            )
        ).scalars()
    )


def _left_for(quotas: Sequence[RegionalQuota], product: Product) -> int | None:
    lefts = [
        q.limit_qty - q.used_qty
        for q in quotas
        if q.supplier_id == product.supplier_id
        and (q.product_id == product.id or (q.product_id is None and q.category_id == product.category_id))
    ]
    return min(lefts) if lefts else None


async def compute_suggestions(
    session: AsyncSession,
    *,
    now: datetime | None = None,
    service_level: float = 0.95,
    review_days: int = 7,
    distributor_ids: Sequence[str] | None = None,
) -> int:
    """Recompute every suggestion (of the given distributors); returns how many rows changed."""
    now = now or utcnow()
    today = now.date()
    stmt = select(StockLocation)
    if distributor_ids is not None:
        stmt = stmt.where(StockLocation.distributor_id.in_(list(distributor_ids)))
    locations = list((await session.execute(stmt)).scalars())
    # A warehouse nobody has counted yet has no location row; one that sold needs it now.
    selling = (
        select(Order.distributor_id)
        .where(Order.kind == "sales", Order.state.in_(hist.SOLD_STATES))
        .distinct()
    )
    if distributor_ids is not None:
        selling = selling.where(Order.distributor_id.in_(list(distributor_ids)))
    known = {loc.org_id for loc in locations}
    for distributor_id in sorted(set((await session.execute(selling)).scalars()) - known):
        locations.append(await location_for(session, distributor_id))
    warehouses = {loc.org_id: loc for loc in locations if loc.kind == "warehouse"}
    shelves = {loc.id: loc for loc in locations if loc.kind == "shelf"}
    histories = [
        *(await hist.warehouse_histories(session, warehouses, today)),
        *(await hist.shelf_histories(session, shelves, today)),
    ]
    if not histories:
        return 0
    products = {
        p.id: p
        for p in (
            await session.execute(
                select(Product).where(Product.id.in_(sorted({h.product_id for h in histories})))
            )
        ).scalars()
    }
    org_ids = sorted({h.location.org_id for h in histories})
    regions = dict(
        (
            await session.execute(
                select(Organisation.id, Organisation.region_id).where(Organisation.id.in_(org_ids))
            )
        ).all()
    )
    levels = {
        (lvl.location_id, lvl.product_id): max(lvl.expected_qty, 0)
        for lvl in (
            await session.execute(
                select(StockLevel).where(
                    StockLevel.location_id.in_(sorted({h.location.id for h in histories}))
                )
            )
        ).scalars()
    }
    open_purchase = await hist.on_order(session, "purchase", sorted(warehouses))
    open_sales = await hist.on_order(
        session, "sales", sorted({s.terminal_id for s in shelves.values() if s.terminal_id})
    )
    leads = {**(await hist.lead_times(session, "purchase")), **(await hist.lead_times(session, "sales"))}
    existing = {
        (s.location_id, s.product_id): s
        for s in (
            await session.execute(
                select(Suggestion).where(
                    Suggestion.location_id.in_(sorted({h.location.id for h in histories}))
                )
            )
        ).scalars()
    }
    drafts = set(
        (
            await session.execute(
                select(Order.id).where(
                    Order.id.in_(sorted({s.order_id for s in existing.values() if s.order_id})),
                    Order.state == "draft",
                )
            )
        ).scalars()
    )
    allowed_cache: dict[tuple[str, str | None], set[tuple[str, str]]] = {}
    quota_cache: dict[str, list[RegionalQuota]] = {}
    changed = 0
    for h in histories:
        loc, product = h.location, products[h.product_id]
        purchase = loc.kind == "warehouse"
        region = regions.get(loc.org_id)
        key = (loc.distributor_id, region)
        if key not in allowed_cache:
            allowed_cache[key] = await _allowed(session, loc.distributor_id, region, today)
        authorised = (product.supplier_id, product.category_id) in allowed_cache[key]
        quota_left = None
        if purchase:
            if loc.distributor_id not in quota_cache:
                quota_cache[loc.distributor_id] = await _quota_left(
                    session, loc.distributor_id, region, today
                )
            quota_left = _left_for(quota_cache[loc.distributor_id], product)
            lead = leads.get((product.supplier_id, loc.distributor_id)) or leads.get(
                (product.supplier_id, None)
            )
            ordered = open_purchase.get((loc.distributor_id, product.id), 0)
        else:
            lead = leads.get((None, loc.distributor_id))
            ordered = open_sales.get((loc.terminal_id, product.id), 0)
        kind = "purchase" if purchase else "sales"
        lead = lead if lead is not None else DEFAULT_LEAD_DAYS[kind]
        on_hand = levels.get((loc.id, product.id), 0)
        s = suggest(
            h.demand, start_weekday=h.start.weekday(), on_hand=on_hand, on_order=ordered, lead_time_days=lead,
            review_days=review_days, pack_size=product.pack_size, service_level=service_level,
            quota_left=quota_left, authorised=authorised,
        )  # fmt: skip
        window = min(28, len(h.demand))
        sold = round(sum(h.demand[-window:]))
        values = {
            "kind": kind, "distributor_id": loc.distributor_id, "terminal_id": loc.terminal_id,
            "supplier_id": product.supplier_id, "method": s.forecast.method, "history_days": len(h.demand),
            "sold_28d": sold, "forecast_daily": round(s.forecast.total(1), 3), "on_hand": on_hand,
            "on_order": ordered, "lead_time_days": lead, "safety_stock": round(s.safety_stock, 2),
            "pack_size": max(product.pack_size, 1), "suggested_qty": s.qty, "bound": s.bound,
            "reason": reason_text(
                sold=sold, days=window, on_hand=on_hand, on_order=ordered, lead=lead, qty=s.qty,
                pack=max(product.pack_size, 1), bound=s.bound, unbounded=s.unbounded_qty,
            ),
        }  # fmt: skip
        row = existing.get((loc.id, product.id))
        if row is None:
            row = Suggestion(location_id=loc.id, product_id=product.id, **values)
            session.add(row)
            changed += 1
            continue
        if row.order_id in drafts:
            continue  # already in a draft order: leave it until the order moves on
        values["status"], values["order_id"] = "open", None
        if any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.computed_at = now
            changed += 1
    await session.flush()
    return changed


def visibility(actor: Actor, stmt: Select) -> Select:
    """Administrators all; a distributor's people their distributor's (as the ``org:`` scope
    replicates them); anyone else nothing."""
    if actor.is_admin:
        return stmt
    if actor.org_kind == "distributor":
        return stmt.where(Suggestion.distributor_id == actor.org_id)
    return stmt.where(Suggestion.id.is_(None))


async def visible(session: AsyncSession, actor: Actor, stmt: Select) -> Select:
    return visibility(actor, stmt)


async def order_suggestions(
    session: AsyncSession,
    actor: Actor,
    *,
    org_id: str,
    order_id: str | None = None,
    supplier_id: str | None = None,
    suggestion_ids: Sequence[str] | None = None,
) -> Order:
    """Turn the open suggestions of a place into one draft order: a distributor's warehouse into a
    purchase order to a supplier, a terminal's shelf into a sales order at the shop."""
    if order_id is not None:
        existing = await session.get(Order, order_id)
        if existing is not None and existing.created_by == actor.user_id:
            return await orders.get_order(session, actor, order_id=order_id)
    stmt = await visible(
        session,
        actor,
        select(Suggestion)
        .join(StockLocation, StockLocation.id == Suggestion.location_id)
        .where(StockLocation.org_id == org_id, Suggestion.status == "open", Suggestion.suggested_qty > 0)
        .order_by(Suggestion.id)
        .with_for_update(of=Suggestion),
    )
    if supplier_id is not None:
        stmt = stmt.where(Suggestion.supplier_id == supplier_id)
    if suggestion_ids is not None:
        stmt = stmt.where(Suggestion.id.in_(list(suggestion_ids)))
    rows = list((await session.execute(stmt)).scalars())
    if suggestion_ids is not None and len(rows) != len(set(suggestion_ids)):
        raise SuggestionNotFound("some of those suggestions are not open or not yours to order")
    if not rows:
        raise NothingToOrder("no open suggestion there has a quantity to order")
    kind = rows[0].kind
    if kind == "purchase":
        suppliers = {r.supplier_id for r in rows}
        if len(suppliers) > 1:
            raise SupplierRequired(
                "these suggestions are for several suppliers; name one",
                details={"supplier_ids": sorted(suppliers)},
            )
        order = await orders.create_order(
            session, actor, order_id=order_id, kind="purchase", supplier_id=rows[0].supplier_id,
            lines=[(r.product_id, r.suggested_qty) for r in rows],
            distributor_id=rows[0].distributor_id if actor.is_admin else None,
        )  # fmt: skip
    else:
        order = await orders.create_order(
            session, actor, order_id=order_id, kind="sales", terminal_id=rows[0].terminal_id,
            lines=[(r.product_id, r.suggested_qty) for r in rows],
        )  # fmt: skip
    for r in rows:
        r.status, r.order_id = "ordered", order.id
    await session.flush()
    return order
