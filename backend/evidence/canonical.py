"""The canonical bytes the evidence log hashes: documents, and the leaf of each entry.

Canonical JSON = msgspec's JSON with object keys sorted and no whitespace; the same document always
gives the same bytes, so a verifier can re-derive every hash from stored rows alone.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import msgspec

LEAF_VERSION = 1
ZERO_HASH = "0" * 64


def canonical_json(value: Any) -> bytes:
    return msgspec.json.encode(value, order="sorted")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leaf_bytes(
    *,
    index: int,
    record_type: str,
    record_id: str,
    kind: str,
    document: str,
    photo_hashes: str,
    prev_hash: str,
    logged_at: datetime,
) -> bytes:
    """What an entry commits to: the record, the hash of its document, its photos and the previous entry."""
    return canonical_json(
        {
            "v": LEAF_VERSION,
            "index": index,
            "record_type": record_type,
            "record_id": record_id,
            "kind": kind,
            "document_sha256": sha256_hex(document.encode()),
            "photos": msgspec.json.decode(photo_hashes),
            "prev": prev_hash,
            "logged_at": logged_at.astimezone(UTC).isoformat(timespec="milliseconds"),
        }
    )


def entry_leaf_bytes(entry: Any) -> bytes:
    """:func:`leaf_bytes` of an ``EvidenceEntry`` row (or anything with the same attributes)."""
    return leaf_bytes(
        index=entry.index,
        record_type=entry.record_type,
        record_id=entry.record_id,
        kind=entry.kind,
        document=entry.document,
        photo_hashes=entry.photo_hashes,
        prev_hash=entry.prev_hash,
        logged_at=entry.logged_at,
    )
