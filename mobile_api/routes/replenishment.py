"""Replenishment suggestions over REST: list, recompute, turn into a draft order."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import get, post
from litestar.datastructures import State
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.forecasting import Suggestion, compute_suggestions, order_suggestions
from backend.forecasting import service as replenishment
from backend.identity import Actor
from backend.identity.errors import NotAllowed
from backend.inventory.models import StockLocation
from backend.orders.service import order_lines
from mobile_api.paging import paginate
from mobile_api.routes.field_common import ClientId, Cursor, Id, Limit, QueryId
from mobile_api.schemas import Out, Page, Strict


class SuggestionOut(Out):
    id: str
    kind: str
    location_id: str
    distributor_id: str
    terminal_id: str | None
    supplier_id: str
    product_id: str
    method: str
    history_days: int
    sold_28d: int
    forecast_daily: float
    on_hand: int
    on_order: int
    lead_time_days: float
    safety_stock: float
    pack_size: int
    suggested_qty: int
    bound: str
    reason: str
    status: str
    order_id: str | None
    computed_at: datetime


class OrderSuggestionsIn(Strict):
    org_id: Id
    order_id: ClientId | None = None
    supplier_id: Id | None = None
    suggestion_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=500)] | None = None


class DraftOut(msgspec.Struct):
    order_id: str
    kind: str
    state: str
    lines: int


class ComputeIn(Strict):
    distributor_id: Id | None = None


class ComputeOut(msgspec.Struct):
    changed: int


@get("/replenishment/suggestions", tags=["replenishment"], summary="Suggested order quantities, with reasons")
async def list_suggestions(
    actor: Actor,
    db_session: AsyncSession,
    cursor: Cursor,
    limit: Limit,
    org_id: QueryId,
    supplier_id: QueryId,
    product_id: QueryId,
    status: Annotated[str | None, Parameter(max_length=10)] = None,
    to_order: bool | None = None,
) -> Page[SuggestionOut]:
    stmt = await replenishment.visible(db_session, actor, select(Suggestion))
    if org_id is not None:
        stmt = stmt.where(
            Suggestion.location_id.in_(select(StockLocation.id).where(StockLocation.org_id == org_id))
        )
    for column, value in (
        (Suggestion.supplier_id, supplier_id),
        (Suggestion.product_id, product_id),
        (Suggestion.status, status),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if to_order is not None:
        stmt = stmt.where(Suggestion.suggested_qty > 0 if to_order else Suggestion.suggested_qty == 0)
    return await paginate(db_session, stmt, Suggestion.id, SuggestionOut.of, cursor=cursor, limit=limit)


@post(
    "/replenishment/orders",
    tags=["replenishment"],
    summary="Turn a place's open suggestions into a draft order",
)
async def draft_order(data: OrderSuggestionsIn, actor: Actor, db_session: AsyncSession) -> DraftOut:
    order = await order_suggestions(
        db_session, actor, org_id=data.org_id, order_id=data.order_id, supplier_id=data.supplier_id,
        suggestion_ids=data.suggestion_ids,
    )  # fmt: skip
    lines = await order_lines(db_session, order.id)
    return DraftOut(order.id, order.kind, order.state, len(lines))


@post(
    "/replenishment/compute",
    tags=["replenishment"],
    summary="Recompute suggestions now (the worker does it hourly)",
)
async def compute(data: ComputeIn, actor: Actor, state: State, db_session: AsyncSession) -> ComputeOut:
    if not actor.is_admin:
        if actor.role != "distributor_staff":
            raise NotAllowed("only an administrator or a distributor's staff recompute suggestions")
        data = ComputeIn(distributor_id=actor.org_id)
    settings = state.settings
    changed = await compute_suggestions(
        db_session, service_level=settings.replenishment_service_level,
        review_days=settings.replenishment_review_days,
        distributor_ids=[data.distributor_id] if data.distributor_id else None,
    )  # fmt: skip
    return ComputeOut(changed)


ROUTES = [list_suggestions, draft_order, compute]
