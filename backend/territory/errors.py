"""Errors of the territory domain."""

from backend.errors import InvalidInput, NotFound, PermissionDenied


class TerminalNotFound(NotFound):
    code = "terminal_not_found"


class AssignmentNotFound(NotFound):
    code = "route_assignment_not_found"


class NotRouteUser(InvalidInput):
    """Only field staff and inspectors of the terminal's distributor walk its routes."""

    code = "invalid_route_user"


class NotOnRoute(PermissionDenied):
    code = "terminal_not_on_route"
