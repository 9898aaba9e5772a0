"""Read-only look at other domains for the support console's customer panel: the customer
organisation's recent orders and its open acceptance discrepancies (claims)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.acceptance.models import Claim
from backend.changefeed import to_json
from backend.orders.models import Order

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
    return [
        {
            "id": c.id,
            "order_id": c.order_id,
            "state": c.state,
            "short": c.short_qty,
            "damaged": c.damaged_qty,
            "wrong": c.wrong_qty,
            "opened_at": to_json(c.opened_at),
        }
        for c in rows.scalars()
    ]
