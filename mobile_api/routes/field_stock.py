"""Stock: record counts, read current levels, count history and movements."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Response, get, post
from litestar.datastructures import State
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.bounds import INT64_MAX
from backend.identity import Actor
from backend.inventory import StockCheck, StockLevel, StockMovement
from backend.inventory import service as inventory
from backend.inventory.models import MOVEMENT_REASONS
from mobile_api.errors import ApiError
from mobile_api.paging import paginate
from mobile_api.params import PathId
from mobile_api.routes.field_common import ClientId, Cursor, Id, Limit, QueryId
from mobile_api.schemas import Page, Strict, created_or_existing, existed


class StockCheckIn(Strict):
    org_id: Id
    product_id: Id
    counted_qty: Annotated[int, msgspec.Meta(ge=0, le=inventory.MAX_QTY)]
    observed_at: datetime
    id: ClientId | None = None
    device_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class StockCheckOut(msgspec.Struct):
    id: str
    location_id: str
    product_id: str
    distributor_id: str
    counted_qty: int
    expected_qty: int | None
    discrepancy: bool
    observed_at: datetime
    recorded_at: datetime
    user_id: str
    device_id: str | None

    @classmethod
    def of(cls, c: StockCheck) -> StockCheckOut:
        return cls(
            c.id, c.location_id, c.product_id, c.distributor_id, c.counted_qty, c.expected_qty,
            c.discrepancy, c.observed_at, c.recorded_at, c.user_id, c.device_id,
        )  # fmt: skip


class StockLevelOut(msgspec.Struct):
    id: str
    location_id: str
    product_id: str
    distributor_id: str
    terminal_id: str | None
    counted_qty: int | None
    observed_at: datetime | None
    last_check_id: str | None
    expected_qty: int
    discrepancy: bool
    updated_at: datetime

    @classmethod
    def of(cls, v: StockLevel) -> StockLevelOut:
        return cls(
            v.id, v.location_id, v.product_id, v.distributor_id, v.terminal_id, v.counted_qty,
            v.observed_at, v.last_check_id, v.expected_qty, v.discrepancy, v.updated_at,
        )  # fmt: skip


class StockMovementOut(msgspec.Struct):
    id: str
    location_id: str
    product_id: str
    qty_delta: int
    reason: str
    ref_id: str
    occurred_at: datetime

    @classmethod
    def of(cls, m: StockMovement) -> StockMovementOut:
        return cls(m.id, m.location_id, m.product_id, m.qty_delta, m.reason, m.ref_id, m.occurred_at)


@post(
    "/stock/checks",
    tags=["stock"],
    summary="Record a stock count (idempotent on id)",
    responses=existed(StockCheckOut),
)
async def record_stock_check(
    data: StockCheckIn, actor: Actor, state: State, db_session: AsyncSession
) -> Response[StockCheckOut]:
    check = await inventory.record_stock_check(
        db_session,
        actor,
        check_id=data.id,
        org_id=data.org_id,
        product_id=data.product_id,
        counted_qty=data.counted_qty,
        observed_at=data.observed_at,
        device_id=data.device_id,
        discrepancy_ratio=state.settings.stock_discrepancy_ratio,
    )
    return created_or_existing(db_session, check, StockCheckOut.of(check))


@get("/stock/checks", tags=["stock"], summary="Stock-check history")
async def list_stock_checks(
    actor: Actor,
    db_session: AsyncSession,
    cursor: Cursor,
    limit: Limit,
    org_id: QueryId,
    product_id: QueryId,
    discrepancy: bool | None = None,
    since: datetime | None = None,
) -> Page[StockCheckOut]:
    if since is not None and since.tzinfo is None:
        raise ApiError(400, "invalid_since", "since needs a time zone, e.g. 2026-11-01T09:00:00Z")
    stmt = inventory.checks_query(
        actor, org_id=org_id, product_id=product_id, discrepancy=discrepancy, since=since
    )
    return await paginate(db_session, stmt, StockCheck.id, StockCheckOut.of, cursor=cursor, limit=limit)


@get("/stock/checks/{check_id:str}", tags=["stock"])
async def get_stock_check(check_id: PathId, actor: Actor, db_session: AsyncSession) -> StockCheckOut:
    stmt = inventory.checks_query(actor).where(StockCheck.id == check_id)
    check = (await db_session.execute(stmt)).scalar_one_or_none()
    if check is None:
        raise ApiError(404, "stock_check_not_found", f"stock check {check_id} does not exist")
    return StockCheckOut.of(check)


@get("/stock/levels", tags=["stock"], summary="Current count and expected stock per SKU and location")
async def list_stock_levels(
    actor: Actor,
    db_session: AsyncSession,
    cursor: Cursor,
    limit: Limit,
    org_id: QueryId,
    product_id: QueryId,
    discrepancy: bool | None = None,
    below: Annotated[int | None, Parameter(ge=0, le=INT64_MAX, default=None)] = None,
) -> Page[StockLevelOut]:
    stmt = inventory.levels_query(
        actor, org_id=org_id, product_id=product_id, discrepancy=discrepancy, below=below
    )
    return await paginate(db_session, stmt, StockLevel.id, StockLevelOut.of, cursor=cursor, limit=limit)


@get("/stock/movements", tags=["stock"], summary="Deliveries, sales and adjustments")
async def list_stock_movements(
    actor: Actor,
    db_session: AsyncSession,
    cursor: Cursor,
    limit: Limit,
    org_id: QueryId,
    product_id: QueryId,
    reason: QueryId = None,
) -> Page[StockMovementOut]:
    if reason is not None and reason not in MOVEMENT_REASONS:
        raise ApiError(400, "invalid_reason", f"reason must be one of {', '.join(MOVEMENT_REASONS)}")
    stmt = inventory.movements_query(actor, org_id=org_id, product_id=product_id, reason=reason)
    return await paginate(db_session, stmt, StockMovement.id, StockMovementOut.of, cursor=cursor, limit=limit)


ROUTES = [record_stock_check, list_stock_checks, get_stock_check, list_stock_levels, list_stock_movements]
