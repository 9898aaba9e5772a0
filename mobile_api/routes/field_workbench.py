"""Workbench figures: the phone's dashboard for distributors and suppliers."""

from __future__ import annotations

from datetime import date

from litestar import get
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from backend.identity import Actor
from backend.workbench import DistributorFigures, SupplierFigures
from backend.workbench import service as workbench
from mobile_api.routes.field_common import QueryId


@get("/workbench/distributor", tags=["workbench"], summary="A distributor's figures (own, or any for admins)")
async def distributor_workbench(
    actor: Actor, state: State, db_session: AsyncSession, distributor_id: QueryId
) -> DistributorFigures:
    return await workbench.distributor_figures(
        db_session, actor, distributor_id=distributor_id, low_stock_qty=state.settings.stock_low_qty
    )


@get("/workbench/supplier", tags=["workbench"], summary="A supplier's figures (own, or any for admins)")
async def supplier_workbench(
    actor: Actor,
    db_session: AsyncSession,
    supplier_id: QueryId,
    period_start: date | None = None,
    period_end: date | None = None,
) -> SupplierFigures:
    return await workbench.supplier_figures(
        db_session, actor, supplier_id=supplier_id, period_start=period_start, period_end=period_end
    )


ROUTES = [distributor_workbench, supplier_workbench]
