"""Visits: terminal sites, frequency rules, generated plans, check-in and check-out.

Every function takes the caller's session and never commits. Check-in facts come from the
phone (position, its clock); the server checks the distance to the terminal, flags implausible
travel against the rep's neighbouring check-ins (in time, so a late offline sync is judged
against its real neighbours) and refuses only what a reason cannot excuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.identity import Actor, Organisation, User
from backend.identity.errors import NotAllowed, UserNotFound
from backend.inspections.models import Inspection
from backend.inventory.models import StockCheck, StockLocation
from backend.notifications.service import enqueue
from backend.orders.models import Order
from backend.territory.errors import TerminalNotFound
from backend.territory.service import (
    ROUTE_ROLES,
    get_terminal,
    is_on_route,
    require_route_manager,
    require_terminal_access,
)
from backend.visits import geo, rules
from backend.visits.errors import (
    InvalidCheckin,
    InvalidRule,
    InvalidSite,
    RuleNotFound,
    TooFar,
    VisitIdTaken,
    VisitNotFound,
    VisitState,
)
from backend.visits.models import DEFAULT_RADIUS_M, TerminalSite, Visit, VisitActivity, VisitRule

MAX_FUTURE = timedelta(days=1)
# An offline phone may sync a check-in this late; older ones are refused as a broken clock.
MAX_LATE = timedelta(days=30)
PLAN_DAYS_MAX = 31


# --- sites ----------------------------------------------------------------------------------


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSite(f"{name!r} is not an IANA time zone (e.g. Asia/Shanghai)") from None
    return name


async def set_site(
    session: AsyncSession,
    actor: Actor,
    *,
    terminal_id: str,
    lat: float,
    lon: float,
    radius_m: int = DEFAULT_RADIUS_M,
    timezone: str = "UTC",
) -> TerminalSite:
    """Set a terminal's coordinates, radius and time zone (its distributor's staff, admins)."""
    terminal = await _terminal_for(session, actor, terminal_id)
    require_route_manager(actor, terminal.parent_id or "")
    check_timezone(timezone)
    site = await site_of(session, terminal.id)
    if site is None:
        site = TerminalSite(terminal_id=terminal.id, distributor_id=terminal.parent_id)
        session.add(site)
    site.lat, site.lon, site.radius_m, site.timezone = lat, lon, radius_m, timezone
    await session.flush()
    return site


async def site_of(session: AsyncSession, terminal_id: str) -> TerminalSite | None:
    return (
        await session.execute(select(TerminalSite).where(TerminalSite.terminal_id == terminal_id))
    ).scalar_one_or_none()


async def _terminal_for(session: AsyncSession, actor: Actor, terminal_id: str) -> Organisation:
    """The terminal, or ``terminal_not_found`` when it is another distributor's (no leak)."""
    terminal = await get_terminal(session, terminal_id)
    if not actor.is_admin and actor.org_id != terminal.parent_id:
        raise TerminalNotFound(f"terminal {terminal_id} does not exist")
    return terminal


# --- rules ----------------------------------------------------------------------------------


async def set_rule(
    session: AsyncSession,
    actor: Actor,
    *,
    user_id: str,
    terminal_id: str,
    freq: str,
    weekdays: Sequence[int] = (),
    interval_weeks: int = 1,
    anchor_date: date | None = None,
    month_day: int | None = None,
    window_start_min: int = 9 * 60,
    window_end_min: int = 17 * 60,
) -> VisitRule:
    """Create or replace how often ``user_id`` visits ``terminal_id``; the terminal must be on
    the user's route."""
    terminal = await _terminal_for(session, actor, terminal_id)
    require_route_manager(actor, terminal.parent_id or "")
    user = await session.get(User, user_id)
    if user is None or (not actor.is_admin and user.org_id != actor.org_id):
        raise UserNotFound(f"user {user_id} does not exist")
    if user.role not in ROUTE_ROLES or not await is_on_route(session, user_id, terminal.id):
        raise InvalidRule(
            "put the terminal on the user's route first (POST /routes)", code="terminal_not_on_route"
        )
    _check_rule(freq, weekdays, interval_weeks, month_day, window_start_min, window_end_min)
    rule = (
        await session.execute(
            select(VisitRule).where(VisitRule.user_id == user_id, VisitRule.terminal_id == terminal.id)
        )
    ).scalar_one_or_none()
    if rule is None:
        rule = VisitRule(user_id=user_id, terminal_id=terminal.id, distributor_id=terminal.parent_id)
        session.add(rule)
    rule.freq, rule.weekdays, rule.interval_weeks = freq, sorted(set(weekdays)), interval_weeks
    rule.anchor_date, rule.month_day, rule.active = anchor_date, month_day, True
    rule.window_start_min, rule.window_end_min, rule.created_by = (
        window_start_min,
        window_end_min,
        actor.user_id,
    )
    await session.flush()
    return rule


def _check_rule(
    freq: str, weekdays: Sequence[int], interval: int, month_day: int | None, start: int, end: int
) -> None:
    if freq not in rules.FREQUENCIES:
        raise InvalidRule(f"freq must be one of {', '.join(rules.FREQUENCIES)}")
    if freq == "weekly" and (not weekdays or not all(0 <= d <= 6 for d in weekdays)):
        raise InvalidRule("a weekly rule names weekdays 0 (Monday) to 6 (Sunday)")
    if freq == "monthly" and (month_day is None or not (month_day == -1 or 1 <= month_day <= 31)):
        raise InvalidRule("a monthly rule names month_day 1-31 (clamped to the month's end) or -1 (last day)")
    if not 1 <= interval <= 12:
        raise InvalidRule("interval_weeks is 1 to 12")
    if not 0 <= start < end <= 1440:
        raise InvalidRule("the visiting window needs 0 <= window_start < window_end <= 24:00")


async def delete_rule(session: AsyncSession, actor: Actor, rule_id: str) -> None:
    rule = await session.get(VisitRule, rule_id)
    if rule is None or not (actor.is_admin or actor.org_id == rule.distributor_id):
        raise RuleNotFound("no such visit rule")
    require_route_manager(actor, rule.distributor_id)
    await session.delete(rule)
    await session.flush()


def frequency_of(rule: VisitRule) -> rules.Frequency:
    return rules.Frequency(
        rule.freq, tuple(rule.weekdays or ()), rule.interval_weeks, rule.anchor_date, rule.month_day
    )


# --- plans ----------------------------------------------------------------------------------


async def plan_visits(
    session: AsyncSession, *, now: datetime | None = None, days: int = 7, user_id: str | None = None
) -> int:
    """Add the planned visits every active rule asks for in the next ``days`` local days of each
    terminal (from its local today); visits already planned are left as they are. Returns how
    many were added."""
    now = now or utcnow()
    days = max(1, min(days, PLAN_DAYS_MAX))
    stmt = (
        select(VisitRule, TerminalSite.timezone, Organisation.code)
        .outerjoin(TerminalSite, TerminalSite.terminal_id == VisitRule.terminal_id)
        .join(Organisation, Organisation.id == VisitRule.terminal_id)
        .where(VisitRule.active.is_(True))
    )
    if user_id is not None:
        stmt = stmt.where(VisitRule.user_id == user_id)
    wanted: list[tuple[VisitRule, date, str, str]] = []
    for rule, tz_name, code in (await session.execute(stmt)).all():
        tz_name = tz_name or "UTC"
        start = rules.local_today(now, tz_name)
        wanted.extend((rule, day, tz_name, code) for day in rules.due_dates(frequency_of(rule), start, days))
    if not wanted:
        return 0
    rule_ids = sorted({r.id for r, *_ in wanted})
    existing = set(
        (
            await session.execute(
                select(Visit.rule_id, Visit.planned_date).where(
                    Visit.rule_id.in_(rule_ids), Visit.planned_date >= min(d for _, d, *_ in wanted)
                )
            )
        ).all()
    )
    added = 0
    for rule, day, tz_name, _code in sorted(wanted, key=lambda w: (w[1], w[0].window_start_min, w[3])):
        if (rule.id, day) in existing:
            continue
        start, end = rules.window(day, rule.window_start_min, rule.window_end_min, tz_name)
        session.add(
            Visit(
                user_id=rule.user_id,
                terminal_id=rule.terminal_id,
                distributor_id=rule.distributor_id,
                rule_id=rule.id,
                planned_date=day,
                window_start=start,
                window_end=end,
                seq=await _next_seq(session, rule.user_id, day),  # autoflush: sees those just added
            )
        )
        added += 1
    await session.flush()
    return added


async def _next_seq(session: AsyncSession, user_id: str, day: date) -> int:
    seqs = (
        await session.execute(select(Visit.seq).where(Visit.user_id == user_id, Visit.planned_date == day))
    ).scalars()
    return max([s + 1 for s in seqs], default=0)


async def add_visit(
    session: AsyncSession, actor: Actor, *, visit_id: str | None, terminal_id: str, planned_date: date
) -> Visit:
    """An unplanned visit on the caller's day (idempotent on the client id)."""
    terminal = await _terminal_for(session, actor, terminal_id)
    await require_terminal_access(session, actor, terminal)
    existing = await session.get(Visit, visit_id) if visit_id else None
    if existing is not None:
        if existing.user_id == actor.user_id and existing.terminal_id == terminal.id:
            return existing
        raise VisitIdTaken("a visit with this id exists")
    visit = Visit(
        user_id=actor.user_id,
        terminal_id=terminal.id,
        distributor_id=terminal.parent_id,
        planned_date=planned_date,
        unplanned=True,
        seq=await _next_seq(session, actor.user_id, planned_date),
    )
    if visit_id:
        visit.id = visit_id
    session.add(visit)
    await session.flush()
    return visit


async def reorder_day(
    session: AsyncSession, actor: Actor, *, planned_date: date, visit_ids: Sequence[str]
) -> list[Visit]:
    """Put the caller's visits of a day in the given order (the ones not named keep theirs, after)."""
    day = list(
        (
            await session.execute(
                select(Visit)
                .where(Visit.user_id == actor.user_id, Visit.planned_date == planned_date)
                .order_by(Visit.seq, Visit.id)
            )
        ).scalars()
    )
    by_id = {v.id: v for v in day}
    unknown = [i for i in visit_ids if i not in by_id]
    if unknown or len(set(visit_ids)) != len(visit_ids):
        raise VisitNotFound("name each of your visits of that day once", details={"visit_ids": unknown})
    ordered = [by_id[i] for i in visit_ids] + [v for v in day if v.id not in set(visit_ids)]
    for seq, visit in enumerate(ordered):
        if visit.seq != seq:
            visit.seq = seq
    await session.flush()
    return ordered


# --- check-in / check-out -------------------------------------------------------------------


def _checked_time(at: datetime, now: datetime, what: str) -> datetime:
    if at.tzinfo is None:
        raise InvalidCheckin(f"{what} needs a time zone")
    if at > now + MAX_FUTURE:
        raise InvalidCheckin(f"{what} is more than a day ahead of the server: check the phone's clock")
    if at < now - MAX_LATE:
        raise InvalidCheckin(f"{what} is more than 30 days old")
    return min(at, now)


async def get_visit(session: AsyncSession, actor: Actor, visit_id: str, *, lock: bool = False) -> Visit:
    visit = await session.get(Visit, visit_id, with_for_update=lock or None)
    if visit is None or not can_see(actor, visit):
        raise VisitNotFound("no such visit")
    return visit


def can_see(actor: Actor, visit: Visit | VisitRule) -> bool:
    if actor.is_admin:
        return True
    if actor.role == "distributor_staff":
        return actor.org_id == visit.distributor_id
    return actor.user_id == visit.user_id


def visit_visibility(actor: Actor, stmt: Select, model: type = Visit) -> Select:
    """Administrators see all, distributor staff their distributor's, field users their own."""
    if actor.is_admin:
        return stmt
    if actor.role == "distributor_staff":
        return stmt.where(model.distributor_id == actor.org_id)
    return stmt.where(model.user_id == actor.user_id)


async def check_in(
    session: AsyncSession,
    actor: Actor,
    *,
    visit_id: str,
    terminal_id: str,
    lat: float,
    lon: float,
    at: datetime,
    reason: str | None = None,
    now: datetime | None = None,
) -> Visit:
    """Check the caller in at a terminal: a planned visit of theirs, or a new unplanned one under
    ``visit_id``. Farther than the radius needs a ``reason`` (then flagged); a retry of the same
    check-in returns the visit."""
    now = now or utcnow()
    at = _checked_time(at, now, "the check-in time")
    reason = (reason or "").strip() or None
    terminal = await _terminal_for(session, actor, terminal_id)
    await require_terminal_access(session, actor, terminal)
    visit = await session.get(Visit, visit_id, with_for_update=True)
    if visit is not None:
        if not can_see(actor, visit):
            raise VisitNotFound("no such visit")
        if visit.user_id != actor.user_id or visit.terminal_id != terminal.id:
            raise VisitIdTaken("that visit is someone else's or at another terminal")
        if visit.status != "planned":
            if visit.checkin_at == at and (visit.checkin_lat, visit.checkin_lon) == (lat, lon):
                return visit  # the same check-in again (a retried push)
            raise VisitState(f"the visit is {visit.status}", details={"status": visit.status})
    site = await site_of(session, terminal.id)
    distance = None
    if site is not None:
        distance = geo.distance_m(lat, lon, site.lat, site.lon)
        if distance > site.radius_m and reason is None:
            raise TooFar(
                f"you are {geo.human_distance(distance)} from {terminal.name}; check-in works within "
                f"{site.radius_m} m. Move closer, or give a reason (your supervisor will see it).",
                details={
                    "distance_m": round(distance),
                    "radius_m": site.radius_m,
                    "terminal_id": terminal.id,
                },
            )
    if visit is None:
        tz_name = site.timezone if site is not None else "UTC"
        visit = Visit(
            id=visit_id,
            user_id=actor.user_id,
            terminal_id=terminal.id,
            distributor_id=terminal.parent_id,
            planned_date=rules.local_today(at, tz_name),
            unplanned=True,
        )
        visit.seq = await _next_seq(session, actor.user_id, visit.planned_date)
        session.add(visit)
    visit.status, visit.checkin_at, visit.checkin_lat, visit.checkin_lon = "in_progress", at, lat, lon
    visit.checkin_distance_m = round(distance) if distance is not None else None
    visit.flag_far = site is not None and distance is not None and distance > site.radius_m
    visit.checkin_reason = reason if visit.flag_far else None
    if visit.window_start is not None and visit.window_end is not None:
        visit.on_time = visit.window_start <= at <= visit.window_end
    await session.flush()
    await _flag_travel(session, visit)
    if visit.flag_far or visit.flag_travel:
        await _alert_supervisors(session, visit, terminal.name)
    return visit


async def _alert_supervisors(session: AsyncSession, visit: Visit, terminal_name: str) -> None:
    """Owe the distributor's staff an alert push about a flagged check-in (same transaction)."""
    what = []
    if visit.flag_far:
        what.append(f"{visit.checkin_distance_m} m from the shop: {visit.checkin_reason}")
    if visit.flag_travel and visit.flag_note:
        what.append(visit.flag_note)
    staff = await session.execute(
        select(User.id).where(
            User.org_id == visit.distributor_id, User.role == "distributor_staff", User.active.is_(True)
        )
    )
    for user_id in sorted(staff.scalars()):
        await enqueue(
            session, user_id=user_id, kind="alert", title=f"Flagged check-in at {terminal_name}"[:120],
            body="; ".join(what)[:200], data={"type": "visit", "visit_id": visit.id},
        )  # fmt: skip


async def _neighbours(session: AsyncSession, visit: Visit) -> list[tuple[Visit, str]]:
    """The rep's check-ins just before and just after ``visit``'s (in time, ties by id), with the
    terminal's name."""
    assert visit.checkin_at is not None
    others = (
        select(Visit, Organisation.name)
        .join(Organisation, Organisation.id == Visit.terminal_id)
        .where(Visit.user_id == visit.user_id, Visit.id != visit.id, Visit.checkin_at.is_not(None))
    )
    at, key = visit.checkin_at, visit.id
    earlier = (Visit.checkin_at < at) | ((Visit.checkin_at == at) & (Visit.id < key))
    later = (Visit.checkin_at > at) | ((Visit.checkin_at == at) & (Visit.id > key))
    found = []
    for where, order in (
        (earlier, (Visit.checkin_at.desc(), Visit.id.desc())),
        (later, (Visit.checkin_at, Visit.id)),
    ):
        row = (await session.execute(others.where(where).order_by(*order).limit(1))).first()
        if row is not None:
            found.append((row[0], row[1]))
    return found


async def _travel_note(session: AsyncSession, visit: Visit) -> str | None:
    """Why ``visit`` cannot follow or precede its neighbouring check-ins, or ``None``."""
    assert visit.checkin_at is not None and visit.checkin_lat is not None and visit.checkin_lon is not None
    for other, other_name in await _neighbours(session, visit):
        assert (
            other.checkin_at is not None and other.checkin_lat is not None and other.checkin_lon is not None
        )
        metres = geo.distance_m(visit.checkin_lat, visit.checkin_lon, other.checkin_lat, other.checkin_lon)
        speed = geo.impossible(metres, visit.checkin_at, other.checkin_at)
        if speed is not None:
            minutes = abs((other.checkin_at - visit.checkin_at).total_seconds()) / 60
            jump = f"{geo.human_distance(metres)} in {minutes:.0f} min ({speed:.0f} km/h)"
            return f"{jump} from the check-in at {other_name}"
    return None


async def _flag_travel(session: AsyncSession, visit: Visit) -> None:
    """Judge ``visit`` and its two neighbours in time again against their immediate neighbours.

    A check-in that arrives late lands between two others and changes only their neighbours, so
    every flag ends as a function of the rep's check-ins in time order, whatever order they
    arrived in (tests/visits/test_travel_order.py)."""
    for v in [visit, *(other for other, _name in await _neighbours(session, visit))]:
        note = await _travel_note(session, v)
        if (v.flag_travel, v.flag_note) != (note is not None, note):
            v.flag_travel, v.flag_note = note is not None, note
    await session.flush()


async def check_out(
    session: AsyncSession,
    actor: Actor,
    *,
    visit_id: str,
    at: datetime,
    lat: float | None = None,
    lon: float | None = None,
    stock_check_ids: Sequence[str] = (),
    order_ids: Sequence[str] = (),
    inspection_ids: Sequence[str] = (),
    now: datetime | None = None,
) -> Visit:
    """End the caller's visit. The counts, sales orders and inspections the phone names, and those
    the rep did at the terminal between check-in and check-out, become the visit's."""
    now = now or utcnow()
    at = _checked_time(at, now, "the check-out time")
    visit = await get_visit(session, actor, visit_id, lock=True)
    if visit.user_id != actor.user_id:
        raise NotAllowed("only the rep who checked in checks out")
    if visit.status == "completed" and visit.checkout_at == at:
        return visit
    if visit.status != "in_progress":
        raise VisitState(f"the visit is {visit.status}", details={"status": visit.status})
    assert visit.checkin_at is not None
    if at < visit.checkin_at:
        raise InvalidCheckin("check-out is before check-in")
    visit.status, visit.checkout_at, visit.checkout_lat, visit.checkout_lon = "completed", at, lat, lon
    refs = await _activities(session, visit, set(stock_check_ids), set(order_ids), set(inspection_ids))
    taken = set(
        (
            await session.execute(
                select(VisitActivity.kind, VisitActivity.ref_id).where(
                    or_(*[and_(VisitActivity.kind == k, VisitActivity.ref_id == r) for k, r in refs])
                    if refs
                    else VisitActivity.id.is_(None)
                )
            )
        ).all()
    )
    for kind, ref in sorted(refs - taken):
        session.add(
            VisitActivity(
                visit_id=visit.id,
                user_id=visit.user_id,
                distributor_id=visit.distributor_id,
                kind=kind,
                ref_id=ref,
            )
        )
    visit.activities = len(refs - taken) + visit.activities
    await session.flush()
    return visit


async def _activities(
    session: AsyncSession, visit: Visit, checks: set[str], orders: set[str], inspections: set[str]
) -> set[tuple[str, str]]:
    """(kind, id) of the rep's work at the visit's terminal: named by the phone or done in the visit."""
    start, end = visit.checkin_at, visit.checkout_at
    found: set[tuple[str, str]] = set()
    check_rows = await session.execute(
        select(StockCheck.id)
        .join(StockLocation, StockLocation.id == StockCheck.location_id)
        .where(
            StockLocation.terminal_id == visit.terminal_id,
            StockCheck.user_id == visit.user_id,
            or_(StockCheck.id.in_(sorted(checks)), StockCheck.observed_at.between(start, end)),
        )
    )
    found |= {("stock_check", i) for i in check_rows.scalars()}
    order_rows = await session.execute(
        select(Order.id).where(
            Order.kind == "sales",
            Order.terminal_id == visit.terminal_id,
            Order.created_by == visit.user_id,
            or_(Order.id.in_(sorted(orders)), Order.created_at.between(start, end)),
        )
    )
    found |= {("order", i) for i in order_rows.scalars()}
    inspection_rows = await session.execute(
        select(Inspection.id).where(
            Inspection.terminal_id == visit.terminal_id,
            Inspection.inspector_id == visit.user_id,
            or_(Inspection.id.in_(sorted(inspections)), Inspection.started_at.between(start, end)),
        )
    )
    found |= {("inspection", i) for i in inspection_rows.scalars()}
    return found


async def skip_visit(session: AsyncSession, actor: Actor, *, visit_id: str, reason: str) -> Visit:
    """Mark a planned visit as not done, with why."""
    visit = await get_visit(session, actor, visit_id, lock=True)
    if visit.user_id != actor.user_id and not (actor.is_admin or actor.role == "distributor_staff"):
        raise NotAllowed("only the rep or the distributor's staff skip a visit")
    if visit.status != "planned":
        raise VisitState(f"the visit is {visit.status}", details={"status": visit.status})
    visit.status, visit.skip_reason = "skipped", reason
    await session.flush()
    return visit
