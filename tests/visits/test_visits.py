"""Visits in the domain: plans from rules across month ends and zones, check-in inside and outside
the radius, late offline check-ins, impossible travel, the visit's own work, isolation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.db import new_id
from backend.inventory import record_stock_check
from backend.notifications.models import PushOutbox
from backend.visits import Visit, VisitActivity, check_in, check_out, get_visit, plan_visits, set_rule
from backend.visits.errors import InvalidRule, TooFar, VisitNotFound, VisitState
from backend.workbench.service import distributor_figures, supplier_figures
from tests.inventory.helpers import actor, terminal_of
from tests.visits.helpers import FAR, NEAR, NOW, SHANGHAI, route_with_sites


async def test_plans_across_a_month_end_in_the_terminal_zone(session_factory, network):
    manager = actor(network, "dist-north")
    rep = network.user("field-north")
    async with session_factory() as session:
        with pytest.raises(InvalidRule):  # not on the rep's route yet
            await set_rule(
                session, manager, user_id=rep.id, terminal_id=terminal_of(network, "dist-00").id,
                freq="weekly", weekdays=[0],
            )  # fmt: skip
        shop, far_shop = await route_with_sites(session, network)
        await set_rule(
            session, manager, user_id=rep.id, terminal_id=shop.id, freq="monthly", month_day=31,
            window_start_min=8 * 60, window_end_min=12 * 60,
        )  # fmt: skip
        # every second Tuesday from Tuesday 2 Feb 2027
        await set_rule(
            session, manager, user_id=rep.id, terminal_id=far_shop.id, freq="weekly", weekdays=[1],
            interval_weeks=2, anchor_date=date(2027, 2, 2),
        )  # fmt: skip
        with pytest.raises(InvalidRule):
            await set_rule(session, manager, user_id=rep.id, terminal_id=shop.id, freq="weekly", weekdays=[])
        # 20:00 UTC on 30 Jan is 31 Jan in Shanghai: the month-end visit is today's
        assert await plan_visits(session, now=NOW, days=31) == 2 + 3
        assert await plan_visits(session, now=NOW, days=31) == 0  # idempotent
        rows = (await session.execute(select(Visit).order_by(Visit.planned_date))).scalars().all()
        assert [(v.terminal_id, v.planned_date) for v in rows] == [
            (shop.id, date(2027, 1, 31)), (far_shop.id, date(2027, 2, 2)), (far_shop.id, date(2027, 2, 16)),
            (shop.id, date(2027, 2, 28)), (far_shop.id, date(2027, 3, 2)),
        ]  # fmt: skip
        # 08:00-12:00 Shanghai is 00:00-04:00 UTC
        assert (rows[0].window_start, rows[0].window_end) == (
            datetime(2027, 1, 31, 0, tzinfo=UTC), datetime(2027, 1, 31, 4, tzinfo=UTC),
        )  # fmt: skip


async def test_check_in_radius_reason_travel_and_the_visits_work(session_factory, network):
    manager = actor(network, "dist-north")
    rep_actor = actor(network, "field-north")
    rep = network.user("field-north")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    async with session_factory() as session:
        shop, far_shop = await route_with_sites(session, network)
        await set_rule(
            session, manager, user_id=rep.id, terminal_id=shop.id, freq="weekly", weekdays=list(range(7))
        )
        assert await plan_visits(session, now=t0, days=1) == 1
        planned = (await session.execute(select(Visit))).scalar_one()

        # farther than 150 m without a reason: refused, with the distance
        with pytest.raises(TooFar) as refused:
            await check_in(session, rep_actor, visit_id=planned.id, terminal_id=shop.id,
                           lat=NEAR[0] + 0.0018, lon=NEAR[1], at=t0)  # fmt: skip
        assert refused.value.details["distance_m"] == pytest.approx(300, abs=2)
        assert "300 m" in refused.value.message
        # inside: checked in, no flags
        visit = await check_in(
            session, rep_actor, visit_id=planned.id, terminal_id=shop.id, lat=NEAR[0], lon=NEAR[1], at=t0
        )
        assert (visit.status, visit.checkin_distance_m, visit.flag_far) == ("in_progress", 100, False)
        # the same check-in again (a retried push) is the same visit; another one is a conflict
        again = await check_in(
            session, rep_actor, visit_id=planned.id, terminal_id=shop.id, lat=NEAR[0], lon=NEAR[1], at=t0
        )
        assert again is visit
        with pytest.raises(VisitState):
            await check_in(session, rep_actor, visit_id=planned.id, terminal_id=shop.id, lat=NEAR[0],
                           lon=NEAR[1], at=t0 + timedelta(minutes=1))  # fmt: skip
        count = await record_stock_check(
            session, rep_actor, check_id=new_id(), org_id=shop.id,
            product_id=network.products["A-00001"].id, counted_qty=4,
            observed_at=t0 + timedelta(minutes=10), device_id=None,
        )  # fmt: skip
        done = await check_out(session, rep_actor, visit_id=visit.id, at=t0 + timedelta(minutes=20))
        assert (done.status, done.activities) == ("completed", 1)
        (activity,) = (await session.execute(select(VisitActivity))).scalars().all()
        assert (activity.kind, activity.ref_id) == ("stock_check", count.id)

        # an unplanned visit at the far shop 5 minutes after leaving a shop 40 km away is not a drive;
        # the phone was outside the far shop's radius too, and gave a reason
        far = await check_in(
            session, rep_actor, visit_id=new_id(), terminal_id=far_shop.id, lat=SHANGHAI[0], lon=SHANGHAI[1],
            at=t0 + timedelta(minutes=5), reason="GPS drifts in the market hall",
        )  # fmt: skip
        assert far.unplanned and far.flag_far and far.checkin_reason == "GPS drifts in the market hall"
        assert far.checkin_distance_m == pytest.approx(40_030, rel=0.01)
        assert not far.flag_travel  # same place as the shop visit: no jump
        late = await check_in(  # synced late from an offline phone: judged against its neighbours in time
            session, rep_actor, visit_id=new_id(), terminal_id=far_shop.id, lat=FAR[0], lon=FAR[1],
            at=t0 + timedelta(minutes=8),
        )  # fmt: skip
        assert late.flag_travel and "km/h" in late.flag_note and not late.flag_far
        alerts = (await session.execute(select(PushOutbox).where(PushOutbox.kind == "alert"))).scalars().all()
        assert {a.user_id for a in alerts} == {network.user("dist-north").id}
        assert len(alerts) == 2 and any("GPS drifts" in (a.body or "") for a in alerts)
        await session.commit()

    async with session_factory() as session:
        south = actor(network, "dist-south")
        with pytest.raises(VisitNotFound):
            await get_visit(session, south, planned.id)
        assert (await get_visit(session, manager, planned.id)).status == "completed"
        today = planned.planned_date  # the shop's local date (Shanghai may be a day ahead of UTC)
        figures = (await distributor_figures(session, manager, today=today)).visits
        totals = figures.totals
        assert (totals.planned, totals.completed, totals.completion_pct) == (1, 1, 100.0)
        assert (figures.totals.flagged, figures.totals.unplanned) == (2, 2)
        assert figures.totals.median_minutes_in_shop == 20.0
        assert [r.key_id for r in figures.by_rep] == [rep.id]
        supplier = (await supplier_figures(session, actor(network, "supplier-a"), today=today)).visits
        assert supplier.totals.flagged == 2 and supplier.by_rep == []
        assert [d.key_id for d in supplier.by_distributor] == [network.org("dist-00").id]
