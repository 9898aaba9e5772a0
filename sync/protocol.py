"""The wire types of sync protocol v1, and their JSON / MessagePack encodings (msgspec)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec

from backend.bounds import Bounded, Id, Int32, OutOfBounds, check_depth, text
from sync.errors import MalformedEnvelope, ProtocolTooOld, ProtocolUnsupported

PROTOCOL_VERSION = 1
Short = text(64)
JSON = "application/json"
MSGPACK = "application/msgpack"

Status = Literal["applied", "duplicate", "conflict", "rejected"]
APPLIED: Status = "applied"
DUPLICATE: Status = "duplicate"
CONFLICT: Status = "conflict"
REJECTED: Status = "rejected"


class MutationIn(Bounded, forbid_unknown_fields=True, kw_only=True):
    """One command from a phone's outbox; ``args`` are validated against the named mutation."""

    id: Id
    seq: Annotated[int, msgspec.Meta(ge=1, le=2**62)]
    name: Short
    # Checked against the named mutation's argument type, so a bad one rejects only its mutation.
    unchecked: ClassVar[frozenset[str]] = frozenset({"args"})
    args: Any = None
    client_time: Short | None = None


class PushRequest(Bounded, forbid_unknown_fields=True, kw_only=True):
    client_id: Id
    protocol: Int32
    mutations: list[MutationIn]


class MutationResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``applied`` carries server-assigned values in ``data``; ``conflict`` carries the server's
    state; ``rejected`` a stable ``code``; ``duplicate`` repeats the original outcome."""

    id: str
    seq: int
    status: Status
    code: str | None = None
    message: str | None = None
    data: Any = None
    original_status: Status | None = None


class PushResponse(msgspec.Struct, kw_only=True):
    results: list[MutationResult]
    last_applied_seq: int
    # Set when the batch skipped ahead of the next expected seq; nothing from the gap on applied.
    expected_seq: int | None = None


class ChangeOut(msgspec.Struct, kw_only=True, omit_defaults=True, array_like=False):
    scope: str
    entity: str
    id: str
    op: str
    version: int
    data: dict[str, Any] | None = None


class ScopeChecksum(msgspec.Struct, array_like=True):
    count: int
    digest: int


class PullResponse(msgspec.Struct, kw_only=True):
    changes: list[ChangeOut]
    cursor: str
    has_more: bool
    last_applied_seq: int | None
    # Scopes restarting from a snapshot in this response: drop their rows before applying.
    reset: list[str] = msgspec.field(default_factory=list)
    # Of ``reset``, the scopes whose cursor was older than the compaction horizon.
    resync_required: list[str] = msgspec.field(default_factory=list)
    # Scopes the caller is no longer entitled to: purge their rows and forget them.
    revoked: list[str] = msgspec.field(default_factory=list)
    checksums: dict[str, ScopeChecksum] = msgspec.field(default_factory=dict)
    # Committed changes wait behind an older transaction still running: pull again shortly.
    pending: bool = False


_json_encoder = msgspec.json.Encoder()
_msgpack_encoder = msgspec.msgpack.Encoder()
_push_json = msgspec.json.Decoder(PushRequest)
_push_msgpack = msgspec.msgpack.Decoder(PushRequest)


def decode_push(body: bytes, content_type: str) -> PushRequest:
    """The push envelope, or :class:`MalformedEnvelope` naming what is wrong."""
    msgpack = is_msgpack(content_type)
    try:
        check_depth(body, msgpack=msgpack)
        return (_push_msgpack if msgpack else _push_json).decode(body)
    except (msgspec.DecodeError, OutOfBounds) as exc:
        raise MalformedEnvelope(f"the push envelope is not valid: {exc}") from None


def check_protocol(protocol: int, min_protocol: int) -> None:
    """Refuse a protocol older than ``min_protocol`` (426) or newer than the server's (400)."""
    if protocol < min_protocol:
        raise ProtocolTooOld(
            f"protocol {protocol} is no longer supported; update the app (minimum {min_protocol})",
            details={"min_protocol": min_protocol, "protocol": protocol},
        )
    if protocol > PROTOCOL_VERSION:
        raise ProtocolUnsupported(
            f"protocol {protocol} is newer than this server speaks (at most {PROTOCOL_VERSION}); "
            "send a protocol listed in GET /sync/v1/schema `protocols`",
            details={"max_protocol": PROTOCOL_VERSION, "min_protocol": min_protocol, "protocol": protocol},
        )


def is_msgpack(media_type: str | None) -> bool:
    return bool(media_type) and "msgpack" in media_type  # type: ignore[operator]


def encode(value: Any, media_type: str) -> bytes:
    return _msgpack_encoder.encode(value) if is_msgpack(media_type) else _json_encoder.encode(value)
