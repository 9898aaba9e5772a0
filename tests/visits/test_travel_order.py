"""Impossible-travel flags do not depend on the order offline check-ins arrive in: every order of
four check-ins (two of them a 40 km jump minutes apart) ends with the same flags — also the orders
where the rep's first and last check-in arrive first and look like a jump between them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backend.db import new_id
from backend.visits import Visit, check_in
from tests.inventory.helpers import actor
from tests.visits.helpers import FAR, SHANGHAI, route_with_sites


async def test_travel_flags_are_the_same_in_every_arrival_order(session_factory, network):
    rep = actor(network, "field-north")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    async with session_factory() as session:
        shop, far_shop = await route_with_sites(session, network)
        # in time order: shop, shop 2 h later, the far shop 5 min after that (impossible), the far
        # shop again 5 min later (plausible after the jump, impossible right after the second)
        plan = [
            (shop, SHANGHAI, t0), (shop, SHANGHAI, t0 + timedelta(hours=2)),
            (far_shop, FAR, t0 + timedelta(hours=2, minutes=5)),
            (far_shop, FAR, t0 + timedelta(hours=2, minutes=10)),
        ]  # fmt: skip
        ids = [new_id() for _ in plan]
        outcomes = set()
        orders = list(itertools.permutations(range(len(plan))))[::3]  # 8 of the 24, both kinds
        assert any(o.index(2) > max(o.index(1), o.index(3)) for o in orders)
        for order in orders:
            async with session.begin_nested() as attempt:
                for i in order:
                    terminal, (lat, lon), at = plan[i]
                    await check_in(
                        session, rep, visit_id=ids[i], terminal_id=terminal.id, lat=lat, lon=lon, at=at,
                        reason="testing",
                    )  # fmt: skip
                rows = {v.id: v.flag_travel for v in (await session.execute(select(Visit))).scalars()}
                outcomes.add(tuple(rows[i] for i in ids))
                await attempt.rollback()
        assert outcomes == {(False, True, True, False)}
