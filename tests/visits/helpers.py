"""Shared set-up of the visits tests: a rep with two shops on the route, with coordinates."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.territory import assign_terminal
from backend.visits import set_site
from tests.inventory.helpers import actor, terminal_of

SHANGHAI = (31.2304, 121.4737)
# 0.0009° of latitude is 100 m; 0.36° is 40 km
NEAR = (SHANGHAI[0] + 0.0009, SHANGHAI[1])
FAR = (SHANGHAI[0] + 0.36, SHANGHAI[1])
NOW = datetime(2027, 1, 30, 20, 0, tzinfo=UTC)  # already 31 January in Shanghai


async def route_with_sites(session, network, shops: int = 2, tz: str = "Asia/Shanghai") -> list:
    """Put the first ``shops`` of dist-00 on field-north's route; the first at SHANGHAI, the second
    at FAR. Returns the terminals."""
    manager = actor(network, "dist-north")
    field = network.user("field-north")
    terminals = [terminal_of(network, "dist-00", i) for i in range(shops)]
    for index, shop in enumerate(terminals):
        await assign_terminal(session, manager, user_id=field.id, terminal_id=shop.id)
        lat, lon = (SHANGHAI, FAR)[index % 2]
        await set_site(session, manager, terminal_id=shop.id, lat=lat, lon=lon, timezone=tz)
    return terminals
