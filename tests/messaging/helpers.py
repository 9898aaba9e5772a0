"""Helpers shared by the messaging tests."""

from __future__ import annotations

from backend.identity import Actor
from tests.factories import Network


def actor(net: Network, username: str) -> Actor:
    user = net.user(username)
    org = next(o for o in net.orgs.values() if o.id == user.org_id)
    return Actor(user_id=user.id, org_id=user.org_id, org_kind=org.kind, role=user.role)
