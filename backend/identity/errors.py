"""Errors of the identity domain."""

from backend.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
)


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"


class TokenInvalid(Unauthenticated):
    code = "token_invalid"


class TokenExpired(Unauthenticated):
    code = "token_expired"


class DeviceRevoked(Unauthenticated):
    code = "device_revoked"


class RefreshReused(Unauthenticated):
    code = "refresh_token_reused"


class LoginLocked(RateLimited):
    code = "login_locked"


class UserExists(Conflict):
    code = "user_exists"


class OrgNotFound(NotFound):
    code = "organisation_not_found"


class UserNotFound(NotFound):
    code = "user_not_found"


class DeviceNotFound(NotFound):
    code = "device_not_found"


class RegionNotFound(NotFound):
    code = "region_not_found"


class NotAllowed(PermissionDenied):
    code = "forbidden"


class BadRole(InvalidInput):
    code = "invalid_role"
