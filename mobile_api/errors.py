"""The one place failures become HTTP responses: ``{"code", "message", "details"}``."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from backend.db import is_transient_error
from backend.errors import DomainError

log = logging.getLogger("fieldsync.api")

STATUS_BY_KIND = {
    "invalid": 422,
    "not_found": 404,
    "forbidden": 403,
    "unauthenticated": 401,
    "conflict": 409,
    "limit": 413,
    "rate_limited": 429,
    "upgrade": 426,
}

CODE_BY_STATUS = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    426: "upgrade_required",
    429: "rate_limited",
}


class ApiError(HTTPException):
    """An HTTP-level refusal raised by the API layer itself (not the domain)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(status_code=status, detail=message)
        self.code = code
        self.details = details


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: Any = None
) -> Response:
    return Response(
        {"code": code, "message": message, "details": details},
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def domain_error_handler(_request: Request, exc: DomainError) -> Response:
    status = STATUS_BY_KIND.get(exc.kind, 400)
    headers = None
    if status == 429 and isinstance(exc.details, dict) and "retry_after_s" in exc.details:
        headers = {"Retry-After": str(exc.details["retry_after_s"])}
    return error_response(status, exc.code, exc.message, exc.details, headers)


def http_error_handler(_request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if isinstance(exc, ApiError):
        return error_response(status, exc.code, exc.detail, exc.details, exc.headers)
    if isinstance(exc, ValidationException):
        details = exc.extra if exc.extra else None
        message = exc.detail or "the request is not valid"
        if isinstance(details, list) and details and isinstance(details[0], dict):
            message = "; ".join(str(d.get("message", "")) for d in details if d.get("message")) or message
        return error_response(400, "invalid_request", message, details)
    if isinstance(exc, NotAuthorizedException):
        return error_response(401, "unauthenticated", exc.detail or "sign in first")
    code = CODE_BY_STATUS.get(status, "http_error")
    if status == 413:
        return error_response(413, "body_too_large", "the request body is too large", None)
    return error_response(status, code, exc.detail or code.replace("_", " "), None, exc.headers)


def _out_of_range(exc: BaseException) -> bool:
    """A value a client sent that a column or a conversion cannot hold (a date before year 1 once
    in UTC, a number past the column, text PostgreSQL refuses) — the backstop behind
    :mod:`backend.bounds` for query parameters its types cannot bound."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return False
        if isinstance(seen, OverflowError | RecursionError) or type(seen).__name__ in _DATA_ERRORS:
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


_DATA_ERRORS = {
    "DataError",  # SQLAlchemy's and asyncpg's (value out of range, too long, bad encoding)
    "NumericValueOutOfRangeError",
    "StringDataRightTruncationError",
    "CharacterNotInRepertoireError",
    "UntranslatableCharacterError",
    "DatetimeFieldOverflowError",
}


def internal_error_handler(request: Request, exc: Exception) -> Response:
    if _out_of_range(exc):
        log.warning("out-of-range input on %s %s: %s", request.method, request.url.path, exc)
        return error_response(400, "invalid_request", "a value in the request is out of range", None)
    if is_transient_error(exc):
        # Lost a race for the database (deadlock, busy SQLite): nothing was committed; try again.
        log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
        return error_response(
            503,
            "database_busy",
            "the database is busy; nothing was changed, send the request again shortly",
            None,
            {"Retry-After": "1"},
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "something went wrong on the server; it was logged"
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
