"""Identity: organisations and regions, users and roles, devices and sessions."""

from backend.identity.access import Actor
from backend.identity.models import (
    ORG_KINDS,
    REGION_LEVELS,
    ROLES,
    Device,
    Organisation,
    RefreshToken,
    Region,
    User,
)

__all__ = [
    "ORG_KINDS",
    "REGION_LEVELS",
    "ROLES",
    "Actor",
    "Device",
    "Organisation",
    "RefreshToken",
    "Region",
    "User",
]
