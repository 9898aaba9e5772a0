"""The evidence log: append finalised records, sign tree heads, prove inclusion and consistency.

Appends run in the caller's transaction (the one that finalises the record), serialised by a
PostgreSQL advisory lock (SQLite's ``BEGIN IMMEDIATE`` already serialises writers). Every complete
subtree is stored in ``evidence_nodes`` as it completes, so an append writes about two rows and a
proof reads O(log n) of them, whatever the size of the log.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import msgspec
from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.db import is_postgres, utcnow
from backend.evidence import merkle
from backend.evidence.canonical import ZERO_HASH, canonical_json, leaf_bytes
from backend.evidence.errors import EvidenceNotFound, InvalidEvidenceDocument, InvalidTreeSize
from backend.evidence.models import EvidenceEntry, EvidenceNode, EvidenceTreeHead
from backend.evidence.signing import key_id, load_signing_key

_APPEND_LOCK = 0x65766964  # "evid": pg_advisory_xact_lock key serialising appends
HEX = set("0123456789abcdef")


def _check_hash(value: str) -> str:
    if len(value) != 64 or not set(value) <= HEX:
        raise InvalidEvidenceDocument(f"{value!r} is not a lowercase hex SHA-256", code="invalid_photo_hash")
    return value


async def _lock(session: AsyncSession) -> None:
    if is_postgres(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _APPEND_LOCK})


async def tree_size(session: AsyncSession) -> int:
    last = await session.scalar(select(func.max(EvidenceEntry.index)))
    return 0 if last is None else int(last) + 1


async def load_nodes(session: AsyncSession, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    keys = list(keys)
    nodes: dict[tuple[int, int], bytes] = {}
    for start in range(0, len(keys), 200):
        chunk = keys[start : start + 200]
        rows = await session.execute(
            select(EvidenceNode.level, EvidenceNode.idx, EvidenceNode.hash).where(
                or_(*(and_(EvidenceNode.level == lv, EvidenceNode.idx == ix) for lv, ix in chunk))
            )
        )
        nodes.update({(lv, ix): bytes(h) for lv, ix, h in rows})
    return nodes


async def append_record(
    session: AsyncSession,
    *,
    record_type: str,
    record_id: str,
    document: dict[str, Any],
    photo_hashes: list[str],
    kind: str = "record",
) -> EvidenceEntry:
    """Append a finalised record (its document and the SHA-256 of its photos) to the log.

    Call it in the transaction that finalises the record. ``photo_hashes`` should be the hashes of
    stored photos (``backend.media.service.attached_hashes``); photos attached later are logged as
    ``supplement`` entries by ``backend.media.service.attach``.
    """
    if not record_type or len(record_type) > 40 or not record_id or len(record_id) > 64:
        raise InvalidEvidenceDocument("record_type (1..40) and record_id (1..64 characters) are required")
    try:
        document_text = canonical_json(document).decode()
    except (TypeError, msgspec.EncodeError) as exc:
        raise InvalidEvidenceDocument(f"the document is not JSON-encodable: {exc}") from None
    photos = canonical_json(sorted({_check_hash(h) for h in photo_hashes})).decode()

    await _lock(session)
    size = await tree_size(session)
    nodes = await load_nodes(session, {*merkle.frontier(size), *([(0, size - 1)] if size else [])})
    prev = nodes[(0, size - 1)].hex() if size else ZERO_HASH
    logged_at = utcnow()
    logged_at = logged_at.replace(microsecond=logged_at.microsecond // 1000 * 1000)
    leaf = merkle.leaf_hash(
        leaf_bytes(
            index=size,
            record_type=record_type,
            record_id=record_id,
            kind=kind,
            document=document_text,
            photo_hashes=photos,
            prev_hash=prev,
            logged_at=logged_at,
        )
    )
    new_nodes = _appended_nodes(size, leaf, nodes)
    nodes.update(new_nodes)
    root = _root_from_frontier([nodes[k] for k in merkle.frontier(size + 1)])
    entry = EvidenceEntry(
        index=size,
        record_type=record_type,
        record_id=record_id,
        kind=kind,
        document=document_text,
        photo_hashes=photos,
        prev_hash=prev,
        logged_at=logged_at,
        leaf_hash=leaf.hex(),
        tree_root=root.hex(),
    )
    session.add(entry)
    session.add_all(EvidenceNode(level=lv, idx=ix, hash=h) for (lv, ix), h in new_nodes.items())
    await session.flush()
    return entry


def _appended_nodes(
    size: int, leaf: bytes, frontier: dict[tuple[int, int], bytes]
) -> dict[tuple[int, int], bytes]:
    """The complete subtrees that appending ``leaf`` at index ``size`` creates (a binary carry)."""
    created = {(0, size): leaf}
    current, index, level = leaf, size, 0
    while index & 1:
        current = merkle.node_hash(frontier[(level, index - 1)], current)
        index >>= 1
        level += 1
        created[(level, index)] = current
    return created


def _root_from_frontier(subtrees: list[bytes]) -> bytes:
    if not subtrees:
        return merkle.EMPTY_ROOT
    root = subtrees[-1]
    for left in reversed(subtrees[:-1]):
        root = merkle.node_hash(left, root)
    return root


async def entries_for(session: AsyncSession, record_type: str, record_id: str) -> list[EvidenceEntry]:
    rows = await session.scalars(
        select(EvidenceEntry)
        .where(EvidenceEntry.record_type == record_type, EvidenceEntry.record_id == record_id)
        .order_by(EvidenceEntry.index)
    )
    return list(rows)


async def is_logged(session: AsyncSession, record_type: str, record_id: str) -> bool:
    found = await session.scalar(
        select(EvidenceEntry.index)
        .where(EvidenceEntry.record_type == record_type, EvidenceEntry.record_id == record_id)
        .limit(1)
    )
    return found is not None


async def logged_photo_hashes(session: AsyncSession, record_type: str, record_id: str) -> set[str]:
    hashes: set[str] = set()
    for entry in await entries_for(session, record_type, record_id):
        hashes.update(msgspec.json.decode(entry.photo_hashes))
    return hashes


# --- tree heads and proofs ---------------------------------------------------------------------------


class SignedHead(msgspec.Struct, frozen=True):
    tree_size: int
    root_hash: str
    timestamp_ms: int
    key_id: str
    signature: str


def _head(row: EvidenceTreeHead) -> SignedHead:
    return SignedHead(row.tree_size, row.root_hash, row.timestamp_ms, row.key_id, row.signature)


async def sign_tree_head(session: AsyncSession, settings: Settings) -> SignedHead | None:
    """Sign the current tree head (once per size); ``None`` while the log is empty."""
    size = await tree_size(session)
    if size == 0:
        return None
    existing = await session.get(EvidenceTreeHead, size)
    if existing is not None:
        return _head(existing)
    root_hex = await session.scalar(select(EvidenceEntry.tree_root).where(EvidenceEntry.index == size - 1))
    assert root_hex is not None
    key = load_signing_key(settings)
    now_ms = int(time.time() * 1000)
    signed = merkle.signed_tree_head(size, bytes.fromhex(root_hex), now_ms, key)
    row = EvidenceTreeHead(
        tree_size=size,
        root_hash=root_hex,
        timestamp_ms=now_ms,
        key_id=key_id(key),
        signature=signed.signature.hex(),
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another process signed the same size first: use theirs
        row = await session.get(EvidenceTreeHead, size, populate_existing=True)
        assert row is not None
    return _head(row)


async def latest_head(session: AsyncSession) -> SignedHead | None:
    row = await session.scalar(select(EvidenceTreeHead).order_by(EvidenceTreeHead.tree_size.desc()).limit(1))
    return _head(row) if row else None


async def head_at(session: AsyncSession, size: int) -> SignedHead:
    row = await session.get(EvidenceTreeHead, size)
    if row is None:
        raise InvalidTreeSize(f"no signed tree head of size {size}", code="tree_head_not_found")
    return _head(row)


async def _stored_tree(session: AsyncSession, size: int, operation: Any) -> merkle.StoredTree:
    keys = merkle.nodes_for(size, operation)
    return merkle.StoredTree(size, await load_nodes(session, keys))


async def inclusion_proof(session: AsyncSession, index: int, size: int) -> list[bytes]:
    if not 0 <= index < size or size > await tree_size(session):
        raise InvalidTreeSize(f"entry {index} is not within a tree of size {size}")

    def operation(tree: merkle.MerkleTree) -> list[bytes]:
        return tree.inclusion_proof(index, size)

    return operation(await _stored_tree(session, size, operation))


async def consistency_proof(session: AsyncSession, first: int, second: int) -> list[bytes]:
    if not 0 <= first <= second or second > await tree_size(session):
        raise InvalidTreeSize(
            f"sizes must satisfy 0 <= first <= second <= the log size; got {first}, {second}"
        )

    def operation(tree: merkle.MerkleTree) -> list[bytes]:
        return tree.consistency_proof(first, second)

    return operation(await _stored_tree(session, second, operation))


async def get_entry(session: AsyncSession, index: int) -> EvidenceEntry:
    entry = await session.get(EvidenceEntry, index)
    if entry is None:
        raise EvidenceNotFound(f"no evidence entry {index}")
    return entry
