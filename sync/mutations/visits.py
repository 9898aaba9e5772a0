"""Visits from the phone: add an unplanned visit, reorder the day, check in, check out, skip."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from backend.visits import service as visits
from backend.visits.models import Visit
from sync.mutations.registry import Args, MutationContext, mutation
from sync.mutations.types import ClientId, Id

Lat = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Lon = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Reason = Annotated[str, msgspec.Meta(max_length=500)]
Refs = Annotated[list[Id], msgspec.Meta(max_length=200)]


class VisitAdd(Args):
    id: ClientId
    terminal_id: Id
    planned_date: date


class VisitReorder(Args):
    planned_date: date
    visit_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=100)]


class CheckInFacts(Args):
    """What the phone knew at the check-in (also the REST body of ``POST /visits/{id}/check-in``)."""

    terminal_id: Id
    lat: Lat
    lon: Lon
    at: datetime
    reason: Reason | None = None


class VisitCheckIn(CheckInFacts, kw_only=True):
    visit_id: ClientId


class CheckOutFacts(Args):
    """The check-out and the work the phone did in the visit (also the REST body)."""

    at: datetime
    lat: Lat | None = None
    lon: Lon | None = None
    stock_check_ids: Refs = []
    order_ids: Refs = []
    inspection_ids: Refs = []


class VisitCheckOut(CheckOutFacts, kw_only=True):
    visit_id: Id


class VisitSkip(Args):
    visit_id: Id
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


def visit_result(visit: Visit) -> dict:
    return {
        "visit_id": visit.id,
        "status": visit.status,
        "distance_m": visit.checkin_distance_m,
        "flag_far": visit.flag_far,
        "flag_travel": visit.flag_travel,
        "activities": visit.activities,
    }


@mutation("visit.add", VisitAdd)
async def visit_add(ctx: MutationContext, args: VisitAdd) -> dict:
    """Add an unplanned visit to a day of the caller's plan."""
    visit = await visits.add_visit(
        ctx.session, ctx.actor, visit_id=args.id, terminal_id=args.terminal_id, planned_date=args.planned_date
    )
    return visit_result(visit)


@mutation("visit.reorder", VisitReorder)
async def visit_reorder(ctx: MutationContext, args: VisitReorder) -> dict:
    """Put the caller's visits of a day in this order."""
    ordered = await visits.reorder_day(
        ctx.session, ctx.actor, planned_date=args.planned_date, visit_ids=args.visit_ids
    )
    return {"visit_ids": [v.id for v in ordered]}


@mutation("visit.check_in", VisitCheckIn)
async def visit_check_in(ctx: MutationContext, args: VisitCheckIn) -> dict:
    """Check in at a terminal (a planned visit, or a new unplanned one); outside the radius needs a reason."""
    visit = await visits.check_in(
        ctx.session,
        ctx.actor,
        visit_id=args.visit_id,
        terminal_id=args.terminal_id,
        lat=args.lat,
        lon=args.lon,
        at=args.at,
        reason=args.reason,
    )
    return visit_result(visit)


@mutation("visit.check_out", VisitCheckOut)
async def visit_check_out(ctx: MutationContext, args: VisitCheckOut) -> dict:
    """Check out; the counts, orders and inspections of the visit become its activities."""
    visit = await visits.check_out(
        ctx.session,
        ctx.actor,
        visit_id=args.visit_id,
        at=args.at,
        lat=args.lat,
        lon=args.lon,
        stock_check_ids=args.stock_check_ids,
        order_ids=args.order_ids,
        inspection_ids=args.inspection_ids,
    )
    return visit_result(visit)


@mutation("visit.skip", VisitSkip)
async def visit_skip(ctx: MutationContext, args: VisitSkip) -> dict:
    """Mark a planned visit as not done, with the reason."""
    return visit_result(
        await visits.skip_visit(ctx.session, ctx.actor, visit_id=args.visit_id, reason=args.reason)
    )
