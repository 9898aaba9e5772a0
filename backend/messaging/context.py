"""Read-only look at other domains for the support console's customer panel.

The orders and acceptance tables belong to other issues; this reads them through the shared
metadata by name, so the panel shows what exists and keeps working while they evolve.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.changefeed import to_json
from backend.db import Base

RECENT = 5
_ORG_COLUMNS = ("distributor_id", "org_id", "buyer_org_id", "customer_org_id", "terminal_id")
_SHOWN = ("id", "number", "code", "status", "state", "total_minor", "currency", "created_at", "submitted_at")
_OPEN = ("open", "flagged", "disputed", "pending", "submitted", "recorded")


def _table(*names: str) -> Table | None:
    for name in names:
        table = Base.metadata.tables.get(name)
        if table is not None:
            return table
    return None


def _row(table: Table, row: Any) -> dict[str, Any]:
    return {c: to_json(row._mapping[table.c[c]]) for c in _SHOWN if c in table.c}


async def _recent(
    session: AsyncSession, table: Table | None, org_id: str, **filters: Any
) -> list[dict[str, Any]]:
    if table is None:
        return []
    org_col = next((table.c[c] for c in _ORG_COLUMNS if c in table.c), None)
    if org_col is None:
        return []
    stmt = select(table).where(org_col == org_id)
    for column, values in filters.items():
        if column in table.c:
            stmt = stmt.where(table.c[column].in_(values))
    if "created_at" in table.c:
        stmt = stmt.order_by(table.c.created_at.desc())
    rows = (await session.execute(stmt.limit(RECENT))).all()
    return [_row(table, r) for r in rows]


async def recent_orders(session: AsyncSession, org_id: str) -> list[dict[str, Any]]:
    return await _recent(session, _table("purchase_orders", "orders"), org_id)


async def open_discrepancies(session: AsyncSession, org_id: str) -> list[dict[str, Any]]:
    table = _table("acceptance_discrepancies", "acceptances", "goods_acceptances")
    return await _recent(session, table, org_id, status=_OPEN)
