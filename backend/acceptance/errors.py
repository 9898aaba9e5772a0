"""Errors of the acceptance domain, each with a stable machine code."""

from backend.errors import Conflict, InvalidInput, NotFound


class AcceptanceExists(Conflict):
    """The delivery was accepted already; ``details`` carries the server's record."""

    code = "acceptance_exists"


class AcceptanceNotFound(NotFound):
    code = "acceptance_not_found"


class ClaimNotFound(NotFound):
    code = "claim_not_found"


class ClaimResolved(Conflict):
    code = "claim_resolved"


class InvalidAcceptance(InvalidInput):
    """Lines that do not match the delivery, or quantities that do not add up."""

    code = "invalid_acceptance"
