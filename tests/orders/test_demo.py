"""The demo seed shows orders in every state and acceptances with discrepancies."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from backend.acceptance import Acceptance, Claim
from backend.catalog import RegionalQuota
from backend.demo_network import DemoNetwork
from backend.orders import STATES, Delivery, Order
from backend.orders import demo as orders_demo


async def test_demo_orders_cover_every_state(session, network):
    # One distributor keeps the test quick; the seeder does the same for each one.
    distributors = [network.org("dist-00")]
    net = DemoNetwork(
        rng=random.Random(7),
        progress=lambda _m: None,
        suppliers=[network.org("sup-a"), network.org("sup-b")],
        distributors=distributors,
        terminals=[o for o in network.orgs.values() if o.parent_id in {d.id for d in distributors}],
        products=list(network.products.values()),
        users=network.users,
    )
    await orders_demo.seed(session, net)
    rows = await session.execute(
        select(Order.kind, Order.state, func.count()).group_by(Order.kind, Order.state)
    )
    counts = {(kind, state): n for kind, state, n in rows}
    for kind in ("purchase", "sales"):
        for state in STATES:
            if (kind, state) != ("sales", "rejected"):
                assert counts.get((kind, state), 0) > 0, (kind, state)
    assert (
        await session.scalar(select(func.count()).select_from(Acceptance).where(Acceptance.has_discrepancy))
        > 0
    )
    assert await session.scalar(select(func.count()).select_from(Claim).where(Claim.state == "open")) > 0
    assert await session.scalar(select(func.count()).select_from(Delivery)) > 0
    # Quotas were consumed, never beyond their limits.
    assert await session.scalar(select(func.sum(RegionalQuota.used_qty))) > 0
    assert (
        await session.scalar(select(func.count()).where(RegionalQuota.used_qty > RegionalQuota.limit_qty))
        == 0
    )
    # Every order's steps happened in order, in the past.
    for order in (await session.execute(select(Order))).scalars():
        steps = [
            t
            for t in (
                order.created_at,
                order.submitted_at,
                order.confirmed_at,
                order.shipped_at,
                order.delivered_at,
            )
            if t
        ]
        assert steps == sorted(steps) and steps[-1] <= order.updated_at
