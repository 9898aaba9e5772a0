"""One error hierarchy with stable machine codes.

Domain modules raise subclasses of :class:`DomainError`. The API maps the *kind* of an error
to an HTTP status in one place, the sync engine maps it to a per-mutation result in another;
``backend`` itself never speaks HTTP.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal with a stable ``code``, a human ``message`` and optional ``details``."""

    kind = "invalid"
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(DomainError):
    kind = "invalid"
    code = "invalid"


class NotFound(DomainError):
    kind = "not_found"
    code = "not_found"


class PermissionDenied(DomainError):
    kind = "forbidden"
    code = "forbidden"


class Unauthenticated(DomainError):
    kind = "unauthenticated"
    code = "unauthenticated"


class Conflict(DomainError):
    kind = "conflict"
    code = "conflict"


class LimitExceeded(DomainError):
    kind = "limit"
    code = "limit_exceeded"


class RateLimited(DomainError):
    kind = "rate_limited"
    code = "rate_limited"


__all__ = [
    "Conflict",
    "DomainError",
    "InvalidInput",
    "LimitExceeded",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "Unauthenticated",
]
