"""Read-only look at other domains for the support console's customer panel: the customer
organisation's recent orders (with their numbers) and its open acceptance discrepancies
(claims), recent stock discrepancies and inspections, and the device the customer last synced
from; and one order in full for the read-only order view."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.acceptance.models import Claim
from backend.catalog.models import Product
from backend.changefeed import to_json
from backend.identity import Device, Organisation
from backend.inspections.models import Inspection
from backend.inventory.models import StockCheck
from backend.orders.models import Delivery, Order, OrderLine

RECENT = 5


def _party(model: Any, org_id: str) -> Any:
    """Rows where the organisation is a party (distributor, supplier or terminal)."""
    return or_(model.distributor_id == org_id, model.supplier_id == org_id, model.terminal_id == org_id)


async def recent_orders(session: AsyncSession, org_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Order).where(_party(Order, org_id)).order_by(Order.created_at.desc()).limit(RECENT)
    )
    return [
        {
            "id": o.id,
            "number": o.number,
            "kind": o.kind,
            "state": o.state,
            "total_minor": o.total_minor,
            "currency": o.currency,
            "created_at": to_json(o.created_at),
        }
        for o in rows.scalars()
    ]


async def open_discrepancies(session: AsyncSession, org_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Claim)
        .where(_party(Claim, org_id), Claim.state == "open")
        .order_by(Claim.opened_at.desc())
        .limit(RECENT)
    )
    claims = list(rows.scalars())
    numbers = dict(
        list(
            (
                await session.execute(
                    select(Order.id, Order.number).where(Order.id.in_([c.order_id for c in claims]))
                )
            ).tuples()
        )
    )
    return [
        {
            "id": c.id,
            "order_id": c.order_id,
            "order_number": numbers.get(c.order_id),
            "state": c.state,
            "short": c.short_qty,
            "damaged": c.damaged_qty,
            "wrong": c.wrong_qty,
            "opened_at": to_json(c.opened_at),
        }
        for c in claims
    ]


async def stock_discrepancies(session: AsyncSession, org_id: str) -> list[dict[str, Any]]:
    """The organisation's latest counts that disagreed with the expected stock."""
    rows = await session.execute(
        select(StockCheck, Product.sku, Product.name)
        .join(Product, Product.id == StockCheck.product_id)
        .where(StockCheck.distributor_id == org_id, StockCheck.discrepancy)
        .order_by(StockCheck.observed_at.desc())
        .limit(RECENT)
    )
    return [
        {
            "id": c.id,
            "sku": sku,
            "product": name,
            "counted": c.counted_qty,
            "expected": c.expected_qty,
            "observed_at": to_json(c.observed_at),
        }
        for c, sku, name in rows.tuples()
    ]


async def recent_inspections(session: AsyncSession, org_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Inspection, Organisation.name)
        .join(Organisation, Organisation.id == Inspection.terminal_id)
        .where(or_(Inspection.distributor_id == org_id, Inspection.terminal_id == org_id))
        .order_by(Inspection.started_at.desc())
        .limit(RECENT)
    )
    return [
        {
            "id": i.id,
            "terminal": terminal,
            "status": i.status,
            "score_pct": i.score_pct,
            "started_at": to_json(i.started_at),
            "submitted_at": to_json(i.submitted_at),
        }
        for i, terminal in rows.tuples()
    ]


async def last_device(session: AsyncSession, user_id: str) -> dict[str, Any] | None:
    """The device the customer was last seen syncing from (not the console)."""
    device = (
        await session.execute(
            select(Device)
            .where(Device.user_id == user_id, Device.revoked_at.is_(None))
            .order_by(Device.last_seen_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if device is None:
        return None
    return {
        "platform": device.platform,
        "app_version": device.app_version,
        "client_id": device.client_id,
        "last_seen_at": to_json(device.last_seen_at),
    }


async def order_view(session: AsyncSession, order_id: str) -> dict[str, Any] | None:
    """One order with its lines and delivery, read-only (the console's order page)."""
    order = await session.get(Order, order_id)
    if order is None:
        return None
    lines = await session.execute(
        select(OrderLine, Product.sku, Product.name)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order.id)
        .order_by(Product.sku)
    )
    delivery = (
        await session.execute(select(Delivery).where(Delivery.order_id == order.id))
    ).scalar_one_or_none()
    parties = [x for x in (order.distributor_id, order.supplier_id, order.terminal_id) if x]
    names = dict(
        list(
            (
                await session.execute(
                    select(Organisation.id, Organisation.name).where(Organisation.id.in_(parties))
                )
            ).tuples()
        )
    )
    return {
        "id": order.id,
        "number": order.number,
        "kind": order.kind,
        "state": order.state,
        "distributor": names.get(order.distributor_id),
        "supplier": names.get(order.supplier_id or ""),
        "terminal": names.get(order.terminal_id or ""),
        "currency": order.currency,
        "total_minor": order.total_minor,
        "created_at": to_json(order.created_at),
        "submitted_at": to_json(order.submitted_at),
        "shipped_at": to_json(order.shipped_at),
        "delivered_at": to_json(order.delivered_at),
        "lines": [
            {"sku": sku, "product": name, "qty": line.qty, "line_total_minor": line.line_total_minor}
            for line, sku, name in lines.tuples()
        ],
        "delivery": {"id": delivery.id, "number": delivery.number, "state": delivery.state}
        if delivery
        else None,
    }
