"""The opaque pull cursor: a position in the change feed per scope, plus snapshots in progress.

A position ``(tx, id)`` means "every change of this scope ordered at or before it has been
delivered"; the next pull reads strictly after it. A scope being bootstrapped carries the
snapshot key reached so far and the position its delta resumes from once the snapshot is done.
The phone stores the cursor as an opaque string and sends it back unchanged.
"""

from __future__ import annotations

import base64
import hashlib

import msgspec

from sync.errors import InvalidCursor

CURSOR_VERSION = 1


class Position(msgspec.Struct, array_like=True):
    tx: int
    id: int
    # Changed since its last checksum was sent: the next complete page carries one.
    unverified: bool = False


class Bootstrap(msgspec.Struct, array_like=True):
    entity: str
    entity_id: str
    resume: Position


class Cursor(msgspec.Struct, kw_only=True):
    v: int = CURSOR_VERSION
    u: str = ""
    scopes: dict[str, Position] = msgspec.field(name="s", default_factory=dict)
    bootstraps: dict[str, Bootstrap] = msgspec.field(name="b", default_factory=dict)

    def known(self) -> set[str]:
        return set(self.scopes) | set(self.bootstraps)

    def forget(self, scope: str) -> None:
        self.scopes.pop(scope, None)
        self.bootstraps.pop(scope, None)

    def start_bootstrap(self, scope: str, resume: Position) -> None:
        self.scopes.pop(scope, None)
        self.bootstraps[scope] = Bootstrap("", "", Position(resume.tx, resume.id))


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Cursor)


def _owner(user_id: str) -> str:
    return hashlib.blake2b(user_id.encode(), digest_size=6).hexdigest()


def encode_cursor(cursor: Cursor, user_id: str) -> str:
    cursor.u = _owner(user_id)
    return base64.urlsafe_b64encode(_encoder.encode(cursor)).decode().rstrip("=")


def decode_cursor(raw: str | None, user_id: str) -> Cursor:
    """The cursor the phone sent; a missing one starts from nothing. Another user's is refused."""
    if not raw:
        return Cursor()
    try:
        cursor = _decoder.decode(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, msgspec.DecodeError):
        raise InvalidCursor("the cursor is not one this server issued; pull without a cursor") from None
    if cursor.v != CURSOR_VERSION or cursor.u != _owner(user_id):
        raise InvalidCursor("the cursor belongs to another user or protocol; pull without a cursor")
    return cursor
