"""Helpers shared by the field-operations tests (inventory, inspections, territory, workbench)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.identity import Actor
from tests.factories import Network

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def actor(net: Network, username: str) -> Actor:
    user = net.user(username)
    org = next(o for o in net.orgs.values() if o.id == user.org_id)
    return Actor(user_id=user.id, org_id=user.org_id, org_kind=org.kind, role=user.role, device_id=None)


def terminal_of(net: Network, distributor_code: str, index: int = 0):
    """The ``index``-th terminal (by code) served by a distributor."""
    dist = net.org(distributor_code)
    shops = sorted((o for o in net.orgs.values() if o.parent_id == dist.id), key=lambda o: o.code)
    return shops[index]
