"""Errors of distributors' requests to suppliers."""

from backend.errors import Conflict, InvalidInput, NotFound


class RequestNotFound(NotFound):
    code = "request_not_found"


class InvalidRequest(InvalidInput):
    code = "invalid_request"


class RequestState(Conflict):
    """The step is not possible from the request's status (``details: {status, action}``)."""

    code = "request_state"


class RequestIdTaken(Conflict):
    code = "request_id_taken"
