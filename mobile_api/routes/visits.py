"""Visits over REST: terminal sites, frequency rules, plans, check-in and check-out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from litestar import delete, get, post, put
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.bounds import pattern
from backend.identity import Actor
from backend.visits import rules
from backend.visits import service as visits
from backend.visits.models import DEFAULT_RADIUS_M, TerminalSite, Visit, VisitRule
from mobile_api.paging import paginate
from mobile_api.params import PathClientId, PathId
from mobile_api.routes.field_common import ClientId, Cursor, Id, Limit, QueryId
from mobile_api.schemas import Out, Page, Strict
from sync.mutations.visits import CheckInFacts, CheckOutFacts, Lat, Lon

HhMm = pattern(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", 5)
Weekday = Annotated[int, msgspec.Meta(ge=0, le=6)]
TzName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class SiteIn(Strict):
    lat: Lat
    lon: Lon
    radius_m: Annotated[int, msgspec.Meta(ge=10, le=5000)] = DEFAULT_RADIUS_M
    timezone: TzName = "UTC"


class SiteOut(Out):
    id: str
    terminal_id: str
    distributor_id: str
    lat: float
    lon: float
    radius_m: int
    timezone: str


class RuleIn(Strict):
    user_id: Id
    terminal_id: Id
    freq: Annotated[str, msgspec.Meta(max_length=10)]
    weekdays: Annotated[list[Weekday], msgspec.Meta(max_length=7)] = []
    interval_weeks: Annotated[int, msgspec.Meta(ge=1, le=12)] = 1
    anchor_date: date | None = None
    month_day: Annotated[int, msgspec.Meta(ge=-1, le=31)] | None = None
    window_start: HhMm = "09:00"
    window_end: HhMm = "17:00"


class RuleOut(msgspec.Struct):
    id: str
    user_id: str
    terminal_id: str
    distributor_id: str
    freq: str
    weekdays: list[int]
    interval_weeks: int
    anchor_date: date | None
    month_day: int | None
    window_start: str
    window_end: str
    description: str

    @classmethod
    def of(cls, r: VisitRule) -> RuleOut:
        return cls(
            r.id, r.user_id, r.terminal_id, r.distributor_id, r.freq, list(r.weekdays or []),
            r.interval_weeks, r.anchor_date, r.month_day, rules.hhmm(r.window_start_min),
            rules.hhmm(r.window_end_min), rules.describe(visits.frequency_of(r)),
        )  # fmt: skip


class VisitOut(Out):
    id: str
    user_id: str
    terminal_id: str
    distributor_id: str
    rule_id: str | None
    planned_date: date
    window_start: datetime | None
    window_end: datetime | None
    seq: int
    unplanned: bool
    status: str
    checkin_at: datetime | None
    checkin_lat: float | None
    checkin_lon: float | None
    checkin_distance_m: int | None
    checkin_reason: str | None
    checkout_at: datetime | None
    on_time: bool | None
    flag_far: bool
    flag_travel: bool
    flag_note: str | None
    activities: int
    skip_reason: str | None


class VisitIn(Strict):
    terminal_id: Id
    planned_date: date
    id: ClientId | None = None


class ReorderIn(Strict):
    planned_date: date
    visit_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=100)]


class SkipIn(Strict):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class PlanIn(Strict):
    days: Annotated[int, msgspec.Meta(ge=1, le=visits.PLAN_DAYS_MAX)] = 7
    user_id: Id | None = None


class PlanOut(msgspec.Struct):
    added: int


@put(
    "/terminals/{terminal_id:str}/site",
    tags=["visits"],
    summary="Set a terminal's coordinates, radius, time zone",
)
async def put_site(terminal_id: PathId, data: SiteIn, actor: Actor, db_session: AsyncSession) -> SiteOut:
    site = await visits.set_site(
        db_session, actor, terminal_id=terminal_id, lat=data.lat, lon=data.lon,
        radius_m=data.radius_m, timezone=data.timezone,
    )  # fmt: skip
    return SiteOut.of(site)


@get("/terminal-sites", tags=["visits"], summary="Terminal sites of the caller's distributor")
async def list_sites(
    actor: Actor, db_session: AsyncSession, cursor: Cursor, limit: Limit, terminal_id: QueryId
) -> Page[SiteOut]:
    stmt = select(TerminalSite)
    if not actor.is_admin:
        stmt = stmt.where(TerminalSite.distributor_id == actor.org_id)
    if terminal_id is not None:
        stmt = stmt.where(TerminalSite.terminal_id == terminal_id)
    return await paginate(db_session, stmt, TerminalSite.id, SiteOut.of, cursor=cursor, limit=limit)


@post("/visit-rules", tags=["visits"], summary="Create or replace a visit frequency rule")
async def put_rule(data: RuleIn, actor: Actor, db_session: AsyncSession) -> RuleOut:
    rule = await visits.set_rule(
        db_session, actor, user_id=data.user_id, terminal_id=data.terminal_id, freq=data.freq,
        weekdays=data.weekdays, interval_weeks=data.interval_weeks, anchor_date=data.anchor_date,
        month_day=data.month_day, window_start_min=rules.parse_hhmm(data.window_start),
        window_end_min=rules.parse_hhmm(data.window_end),
    )  # fmt: skip
    return RuleOut.of(rule)


@get(
    "/visit-rules", tags=["visits"], summary="Visit rules (distributor staff: all of theirs; reps: their own)"
)
async def list_rules(
    actor: Actor,
    db_session: AsyncSession,
    cursor: Cursor,
    limit: Limit,
    user_id: QueryId,
    terminal_id: QueryId,
) -> Page[RuleOut]:
    stmt = visits.visit_visibility(actor, select(VisitRule), VisitRule)
    if user_id is not None:
        stmt = stmt.where(VisitRule.user_id == user_id)
    if terminal_id is not None:
        stmt = stmt.where(VisitRule.terminal_id == terminal_id)
    return await paginate(db_session, stmt, VisitRule.id, RuleOut.of, cursor=cursor, limit=limit)


@delete("/visit-rules/{rule_id:str}", tags=["visits"], summary="Delete a visit rule (planned visits stay)")
async def remove_rule(rule_id: PathId, actor: Actor, db_session: AsyncSession) -> None:
    await visits.delete_rule(db_session, actor, rule_id)


@post("/visits/plan", tags=["visits"], summary="Generate planned visits now (the worker does this hourly)")
async def plan(data: PlanIn, actor: Actor, db_session: AsyncSession) -> PlanOut:
    actor.require_admin()
    return PlanOut(await visits.plan_visits(db_session, days=data.days, user_id=data.user_id))


@get("/visits", tags=["visits"], summary="Visits, by day and rep (reps: their own)")
async def list_visits(
    actor: Actor,
    db_session: AsyncSession,
    cursor: Cursor,
    limit: Limit,
    user_id: QueryId,
    terminal_id: QueryId,
    date_from: date | None = None,
    date_to: date | None = None,
    status: Annotated[str | None, Parameter(max_length=12)] = None,
    flagged: bool | None = None,
) -> Page[VisitOut]:
    stmt = visits.visit_visibility(actor, select(Visit))
    for column, value in ((Visit.user_id, user_id), (Visit.terminal_id, terminal_id), (Visit.status, status)):
        if value is not None:
            stmt = stmt.where(column == value)
    if date_from is not None:
        stmt = stmt.where(Visit.planned_date >= date_from)
    if date_to is not None:
        stmt = stmt.where(Visit.planned_date <= date_to)
    if flagged is not None:
        either = Visit.flag_far.is_(True) | Visit.flag_travel.is_(True)
        stmt = stmt.where(either if flagged else ~either)
    return await paginate(db_session, stmt, Visit.id, VisitOut.of, cursor=cursor, limit=limit)


@get("/visits/{visit_id:str}", tags=["visits"], summary="One visit")
async def one_visit(visit_id: PathId, actor: Actor, db_session: AsyncSession) -> VisitOut:
    return VisitOut.of(await visits.get_visit(db_session, actor, visit_id))


@post("/visits", tags=["visits"], summary="Add an unplanned visit to the caller's day")
async def add(data: VisitIn, actor: Actor, db_session: AsyncSession) -> VisitOut:
    visit = await visits.add_visit(
        db_session, actor, visit_id=data.id, terminal_id=data.terminal_id, planned_date=data.planned_date
    )
    return VisitOut.of(visit)


@post("/visits/reorder", tags=["visits"], summary="Reorder the caller's visits of a day")
async def reorder(data: ReorderIn, actor: Actor, db_session: AsyncSession) -> list[VisitOut]:
    ordered = await visits.reorder_day(
        db_session, actor, planned_date=data.planned_date, visit_ids=data.visit_ids
    )
    return [VisitOut.of(v) for v in ordered]


@post(
    "/visits/{visit_id:str}/check-in", tags=["visits"], summary="Check in (a new id makes an unplanned visit)"
)
async def check_in(
    visit_id: PathClientId, data: CheckInFacts, actor: Actor, db_session: AsyncSession
) -> VisitOut:
    visit = await visits.check_in(
        db_session, actor, visit_id=visit_id, terminal_id=data.terminal_id, lat=data.lat, lon=data.lon,
        at=data.at, reason=data.reason,
    )  # fmt: skip
    return VisitOut.of(visit)


@post(
    "/visits/{visit_id:str}/check-out", tags=["visits"], summary="Check out; the visit's work becomes its own"
)
async def check_out(
    visit_id: PathId, data: CheckOutFacts, actor: Actor, db_session: AsyncSession
) -> VisitOut:
    visit = await visits.check_out(
        db_session, actor, visit_id=visit_id, at=data.at, lat=data.lat, lon=data.lon,
        stock_check_ids=data.stock_check_ids, order_ids=data.order_ids, inspection_ids=data.inspection_ids,
    )  # fmt: skip
    return VisitOut.of(visit)


@post("/visits/{visit_id:str}/skip", tags=["visits"], summary="Mark a planned visit as not done")
async def skip(visit_id: PathId, data: SkipIn, actor: Actor, db_session: AsyncSession) -> VisitOut:
    return VisitOut.of(await visits.skip_visit(db_session, actor, visit_id=visit_id, reason=data.reason))


ROUTES = [
    put_site, list_sites, put_rule, list_rules, remove_rule, plan, list_visits, one_visit, add, reorder,
    check_in, check_out, skip,
]  # fmt: skip
