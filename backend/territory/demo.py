"""Demo routes: the demo field user and inspector of the north distributor walk its first shops."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.demo_network import DemoNetwork
from backend.identity import Actor
from backend.territory.service import assign_terminal

ROUTE_SIZE = {"field-north": 12, "inspector-north": 6}


def demo_actor(net: DemoNetwork, username: str) -> Actor:
    """The demo user as an actor (``admin`` stands in where a distributor has no demo user)."""
    user = net.users[username]
    kinds = {o.id: o.kind for o in [*net.suppliers, *net.distributors]}
    if net.platform is not None:
        kinds[net.platform.id] = net.platform.kind
    return Actor(
        user_id=user.id, org_id=user.org_id, org_kind=kinds.get(user.org_id, "distributor"), role=user.role
    )


def terminals_of(net: DemoNetwork, distributor_id: str) -> list:
    return [t for t in net.terminals if t.parent_id == distributor_id]


async def seed(session: AsyncSession, net: DemoNetwork) -> None:
    net.progress("routes")
    manager = demo_actor(net, "dist-north")
    shops = terminals_of(net, net.distributors[0].id)
    for username, size in ROUTE_SIZE.items():
        for shop in shops[:size]:
            await assign_terminal(session, manager, user_id=net.users[username].id, terminal_id=shop.id)
