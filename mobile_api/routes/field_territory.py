"""Routes of field users: which terminals each one visits."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Response, delete, get, post
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.identity import Actor
from backend.territory import RouteAssignment
from backend.territory import service as territory
from mobile_api.paging import paginate
from mobile_api.params import PathId
from mobile_api.routes.field_common import Cursor, Id, Limit, QueryId
from mobile_api.schemas import Page, Strict, created_or_existing, existed


class AssignmentIn(Strict):
    user_id: Id
    terminal_id: Id


class AssignmentOut(msgspec.Struct):
    id: str
    user_id: str
    terminal_id: str
    distributor_id: str
    assigned_at: datetime

    @classmethod
    def of(cls, a: RouteAssignment) -> AssignmentOut:
        return cls(a.id, a.user_id, a.terminal_id, a.distributor_id, a.assigned_at)


@post(
    "/routes",
    tags=["territory"],
    summary="Put a terminal on a field user's route",
    responses=existed(AssignmentOut),
)
async def assign(data: AssignmentIn, actor: Actor, db_session: AsyncSession) -> Response[AssignmentOut]:
    assignment = await territory.assign_terminal(
        db_session, actor, user_id=data.user_id, terminal_id=data.terminal_id
    )
    return created_or_existing(db_session, assignment, AssignmentOut.of(assignment))


@delete("/routes/{user_id:str}/{terminal_id:str}", tags=["territory"], summary="Take a terminal off a route")
async def unassign(user_id: PathId, terminal_id: PathId, actor: Actor, db_session: AsyncSession) -> None:
    await territory.unassign_terminal(db_session, actor, user_id=user_id, terminal_id=terminal_id)


@get("/routes", tags=["territory"], summary="Route assignments (distributor staff: all of theirs)")
async def list_routes(
    actor: Actor,
    db_session: AsyncSession,
    cursor: Cursor,
    limit: Limit,
    user_id: QueryId,
    terminal_id: QueryId,
) -> Page[AssignmentOut]:
    stmt = territory.route_visibility(actor, select(RouteAssignment))
    if user_id is not None:
        stmt = stmt.where(RouteAssignment.user_id == user_id)
    if terminal_id is not None:
        stmt = stmt.where(RouteAssignment.terminal_id == terminal_id)
    return await paginate(db_session, stmt, RouteAssignment.id, AssignmentOut.of, cursor=cursor, limit=limit)


ROUTES = [assign, unassign, list_routes]
