"""Errors of the visits domain."""

from backend.errors import Conflict, InvalidInput, NotFound


class VisitNotFound(NotFound):
    code = "visit_not_found"


class RuleNotFound(NotFound):
    code = "visit_rule_not_found"


class InvalidRule(InvalidInput):
    code = "invalid_visit_rule"


class InvalidSite(InvalidInput):
    code = "invalid_terminal_site"


class InvalidCheckin(InvalidInput):
    code = "invalid_checkin"


class TooFar(InvalidInput):
    """A check-in outside the terminal's radius without a reason; ``details.distance_m`` says how far."""

    code = "checkin_too_far"


class VisitState(Conflict):
    """The step does not fit the visit's status (``details.status``)."""

    code = "visit_state"


class VisitIdTaken(Conflict):
    code = "visit_id_taken"
