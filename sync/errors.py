"""Refusals of the sync protocol itself (the domains' refusals become per-mutation results)."""

from __future__ import annotations

from backend.errors import DomainError, LimitExceeded, RateLimited


class MalformedEnvelope(DomainError):
    """The batch envelope cannot be read; nothing in it is applied (HTTP 400)."""

    kind = "malformed"
    code = "invalid_request"


class ProtocolTooOld(DomainError):
    """The client speaks a protocol older than the server's minimum (HTTP 426)."""

    kind = "upgrade"
    code = "upgrade_required"


class ProtocolUnsupported(DomainError):
    """The client speaks a protocol newer than any this server knows (HTTP 400)."""

    kind = "malformed"
    code = "protocol_unsupported"


class BatchTooLarge(LimitExceeded):
    code = "batch_too_large"


class PushRateLimited(RateLimited):
    code = "sync_rate_limited"


class InvalidCursor(DomainError):
    kind = "malformed"
    code = "invalid_cursor"


__all__ = [
    "BatchTooLarge",
    "InvalidCursor",
    "MalformedEnvelope",
    "ProtocolTooOld",
    "ProtocolUnsupported",
    "PushRateLimited",
]
