"""The opaque pull cursor: a position in the change feed per scope, plus snapshots in progress.

A position ``(tx, id)`` means "every change of this scope ordered at or before it has been
delivered"; the next pull reads strictly after it. A scope being bootstrapped carries the
snapshot key reached so far and the position its delta resumes from once the snapshot is done.
The phone stores the cursor as an opaque string and sends it back unchanged.

A cursor is ``<base64 msgpack>.<base64 tag>``: the tag is an HMAC-SHA256 (cut to 16 bytes) of
the body and the user it was issued to, keyed with the server's ``FIELDSYNC_SECRET_KEY``, so a
forged or edited position or scope, or another user's cursor, is ``400 invalid_cursor``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import msgspec

from backend.bounds import Count64
from sync.errors import InvalidCursor

CURSOR_VERSION = 2  # 2: authenticated (a version-1 cursor is refused: pull without one)
_TAG_BYTES = 16


class Position(msgspec.Struct, array_like=True):
    tx: Count64
    id: Count64
    # Changed since its last checksum was sent: the next complete page carries one.
    unverified: bool = False


class Bootstrap(msgspec.Struct, array_like=True):
    entity: str
    entity_id: str
    resume: Position


class Cursor(msgspec.Struct, kw_only=True):
    v: int = CURSOR_VERSION
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


def _tag(body: bytes, user_id: str, key: str) -> bytes:
    message = b"fieldsync-cursor\x00" + user_id.encode() + b"\x00" + body
    return hmac.new(key.encode(), message, hashlib.sha256).digest()[:_TAG_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(cursor: Cursor, user_id: str, key: str) -> str:
    """The cursor as the opaque, authenticated string a phone keeps."""
    body = _encoder.encode(cursor)
    return f"{_b64(body)}.{_b64(_tag(body, user_id, key))}"


def decode_cursor(raw: str | None, user_id: str, key: str) -> Cursor:
    """The cursor the phone sent; a missing one starts from nothing. One this server did not issue
    to this user (edited, forged, another user's, an older version) is refused."""
    if not raw:
        return Cursor()
    refused = InvalidCursor("the cursor is not one this server issued to you; pull without a cursor")
    body_text, _, tag_text = raw.partition(".")
    try:
        body, tag = _unb64(body_text), _unb64(tag_text)
    except ValueError:
        raise refused from None
    if not hmac.compare_digest(tag, _tag(body, user_id, key)):
        raise refused
    try:
        cursor = _decoder.decode(body)
    except (ValueError, msgspec.DecodeError):
        raise refused from None
    if cursor.v != CURSOR_VERSION:
        raise refused
    return cursor
