"""Territory: which terminals each field user visits (their route)."""

from backend.territory.models import RouteAssignment
from backend.territory.service import (
    assign_terminal,
    is_on_route,
    require_terminal_access,
    route_terminal_ids,
    unassign_terminal,
)

__all__ = [
    "RouteAssignment",
    "assign_terminal",
    "is_on_route",
    "require_terminal_access",
    "route_terminal_ids",
    "unassign_terminal",
]
