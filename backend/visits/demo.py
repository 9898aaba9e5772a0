"""Demo visits: every terminal gets coordinates; field-north's route gets frequency rules and two
weeks of visits behind it (most completed, some late, two flagged) and a week planned ahead."""

from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import new_id, utcnow
from backend.demo_network import DemoNetwork
from backend.inventory.service import record_stock_check
from backend.territory.demo import demo_actor
from backend.territory.service import route_terminal_ids
from backend.visits.models import TerminalSite, Visit
from backend.visits.service import check_in, check_out, plan_visits, set_rule, skip_visit

# Province centres the demo shops scatter around (about ±5 km).
CENTRES = [(31.23, 121.47), (23.13, 113.26), (30.57, 104.07), (39.90, 116.40), (34.34, 108.94)]


async def seed(session: AsyncSession, net: DemoNetwork) -> None:
    net.progress("visits")
    rng = net.rng
    for terminal in net.terminals:
        d_index = next(i for i, d in enumerate(net.distributors) if d.id == terminal.parent_id)
        lat, lon = CENTRES[(d_index // 2) % len(CENTRES)]
        session.add(
            TerminalSite(
                terminal_id=terminal.id,
                distributor_id=terminal.parent_id,
                lat=round(lat + rng.uniform(-0.045, 0.045), 6),
                lon=round(lon + rng.uniform(-0.05, 0.05), 6),
                timezone="Asia/Shanghai",
            )
        )
    await session.flush()
    manager = demo_actor(net, "dist-north")
    rep = demo_actor(net, "field-north")
    route = await route_terminal_ids(session, rep.user_id)
    for i, terminal_id in enumerate(route):
        if i == len(route) - 1:
            await set_rule(
                session, manager, user_id=rep.user_id, terminal_id=terminal_id, freq="monthly", month_day=-1
            )
        else:
            await set_rule(
                session, manager, user_id=rep.user_id, terminal_id=terminal_id, freq="weekly",
                weekdays=[i % 5], interval_weeks=1 + i % 2, window_start_min=(9 + i % 3) * 60,
                window_end_min=(12 + i % 3) * 60,
            )  # fmt: skip
    now = utcnow()
    await plan_visits(session, now=now - timedelta(days=14), days=14 + 7)
    sites = {s.terminal_id: s for s in (await session.execute(select(TerminalSite))).scalars()}
    past = (
        await session.execute(
            select(Visit)
            .where(Visit.user_id == rep.user_id, Visit.window_end < now)
            .order_by(Visit.window_start)
        )
    ).scalars()
    for n, visit in enumerate(list(past)):
        if n % 7 == 6:
            await skip_visit(session, rep, visit_id=visit.id, reason="shop closed for stocktaking")
            continue
        if n % 9 == 8:
            continue  # missed: still planned
        site = sites[visit.terminal_id]
        assert visit.window_start is not None
        late = n % 5 == 4
        at = visit.window_start + timedelta(minutes=rng.randrange(200, 260) if late else rng.randrange(5, 90))
        far = n % 11 == 3
        lat = site.lat + (0.004 if far else rng.uniform(-0.0005, 0.0005))
        reason = "parked across the square; the lane was blocked" if far else None
        await check_in(session, rep, visit_id=visit.id, terminal_id=visit.terminal_id, lat=lat, lon=site.lon,
                       at=at, reason=reason)  # fmt: skip
        if n % 4 == 0:  # a shelf count during the visit: it becomes the visit's activity
            await record_stock_check(
                session, rep, check_id=new_id(), org_id=visit.terminal_id, product_id=net.products[n].id,
                counted_qty=rng.randrange(0, 30), observed_at=at + timedelta(minutes=5), device_id=None,
            )  # fmt: skip
        await check_out(session, rep, visit_id=visit.id, at=at + timedelta(minutes=rng.randrange(12, 45)))
    # one impossible jump: an unplanned check-in 40 km away, minutes after the last completed visit
    last = (
        await session.execute(
            select(Visit)
            .where(Visit.user_id == rep.user_id, Visit.status == "completed")
            .order_by(Visit.checkin_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if last is not None and last.checkin_at is not None and len(route) > 1:
        other = next(t for t in route if t != last.terminal_id)
        site = sites[other]
        at = min(last.checkin_at + timedelta(minutes=6), now)
        await check_in(session, rep, visit_id=new_id(), terminal_id=other, lat=site.lat + 0.36, lon=site.lon,
                       at=at.astimezone(UTC), reason="GPS jumped")  # fmt: skip
