"""Offline verification of the whole evidence log against the stored records and photos.

Re-derives every leaf from its entry, the hash chain, the Merkle root after every entry and every
signed tree head, re-reads each logged record through its domain's registered loader and re-hashes
each photo's original bytes. Stops at, and names, the first entry that does not match.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.evidence import merkle
from backend.evidence.canonical import ZERO_HASH, canonical_json, entry_leaf_bytes
from backend.evidence.models import EvidenceEntry, EvidenceNode, EvidenceTreeHead
from backend.evidence.sources import record_loader
from backend.media.models import Photo
from backend.media.storage import BlobMissing, Storage, original_key

BATCH = 2000


@dataclass
class Failure:
    index: int | None
    record: str
    problem: str

    def __str__(self) -> str:
        where = f"entry {self.index} ({self.record})" if self.index is not None else "the log"
        return f"{where}: {self.problem}"


@dataclass
class Report:
    entries: int = 0
    photos: int = 0
    records_checked: int = 0
    unchecked_types: set[str] = field(default_factory=set)
    heads_checked: int = 0
    photos_pending: list[tuple[int, str]] = field(default_factory=list)  # (entry, sha256) never uploaded
    root: str | None = None
    failure: Failure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


class _Mismatch(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


async def verify_log(session: AsyncSession, storage: Storage, public_key: bytes | None) -> Report:
    """Check the whole log; ``public_key`` (raw Ed25519) verifies the signed tree heads."""
    report = Report()
    heads = {h.tree_size: h for h in await session.scalars(select(EvidenceTreeHead))}
    tree = merkle.MerkleTree()
    prev, photos_ok = ZERO_HASH, set[str]()
    last = -1
    while True:
        batch = (
            await session.scalars(
                select(EvidenceEntry)
                .where(EvidenceEntry.index > last)
                .order_by(EvidenceEntry.index)
                .limit(BATCH)
            )
        ).all()
        if not batch:
            break
        rows = await session.execute(
            select(EvidenceNode.idx, EvidenceNode.hash).where(
                EvidenceNode.level == 0, EvidenceNode.idx.between(batch[0].index, batch[-1].index)
            )
        )
        stored_leaves = {int(idx): bytes(h) for idx, h in rows}
        for entry in batch:
            try:
                prev = await _check_entry(
                    session, storage, entry, tree, prev, stored_leaves, photos_ok, report
                )
                head = heads.get(tree.size)
                if head is not None:
                    _check_head(head, tree, public_key)
                    report.heads_checked += 1
            except _Mismatch as exc:
                report.failure = Failure(entry.index, f"{entry.record_type}/{entry.record_id}", exc.problem)
                return report
            report.entries += 1
        last = batch[-1].index
    beyond = sorted(size for size in heads if size > tree.size)
    if beyond:
        report.failure = Failure(
            None,
            "",
            f"a signed tree head covers {beyond[-1]} entries but only {tree.size} remain: some were removed",
        )
    report.photos = len(photos_ok)
    report.root = tree.root().hex() if tree.size else None
    return report


async def _check_entry(
    session: AsyncSession,
    storage: Storage,
    entry: EvidenceEntry,
    tree: merkle.MerkleTree,
    prev: str,
    stored_leaves: dict[int, bytes],
    photos_ok: set[str],
    report: Report,
) -> str:
    if entry.index != tree.size:
        raise _Mismatch(f"expected entry {tree.size} next: entries are missing")
    leaf = merkle.leaf_hash(entry_leaf_bytes(entry))
    if leaf.hex() != entry.leaf_hash:
        raise _Mismatch("the entry was altered: its contents do not hash to its leaf hash")
    if entry.prev_hash != prev:
        raise _Mismatch("the hash chain is broken: prev_hash is not the previous entry's leaf hash")
    if stored_leaves.get(entry.index) != leaf:
        raise _Mismatch("the stored Merkle leaf differs from the entry (proofs would be wrong)")
    tree.append(leaf)
    if tree.root().hex() != entry.tree_root:
        raise _Mismatch("the tree root recorded after this entry does not match the log")

    await _check_record(session, entry, report)
    for sha256 in msgspec.json.decode(entry.photo_hashes):
        if sha256 in photos_ok:
            continue
        try:
            data = await storage.get(original_key(sha256))
        except BlobMissing:
            if await session.get(Photo, sha256) is None:
                # Logged before its upload finished (photos may follow a record): incomplete, not altered.
                report.photos_pending.append((entry.index, sha256))
                continue
            raise _Mismatch(f"photo {sha256} is missing from storage") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise _Mismatch(f"photo {sha256} was altered: its bytes no longer hash to it")
        photos_ok.add(sha256)
    return leaf.hex()


async def _check_record(session: AsyncSession, entry: EvidenceEntry, report: Report) -> None:
    if entry.kind == "supplement":
        logged = msgspec.json.decode(entry.document).get("photo", {})
        photo = await session.get(Photo, logged.get("sha256", ""))
        if photo is None or canonical_json(photo.evidence()) != canonical_json(logged):
            raise _Mismatch("the photo's stored evidence metadata differs from the logged one")
        report.records_checked += 1
        return
    load = record_loader(entry.record_type)
    if load is None:
        report.unchecked_types.add(entry.record_type)
        return
    current = await load(session, entry.record_id)
    if current is None:
        raise _Mismatch("the logged record is gone from the database")
    if canonical_json(current).decode() != entry.document:
        raise _Mismatch("the stored record differs from the document that was logged")
    report.records_checked += 1


def _check_head(head: EvidenceTreeHead, tree: merkle.MerkleTree, public_key: bytes | None) -> None:
    if head.root_hash != tree.root().hex():
        raise _Mismatch(f"the signed tree head of size {head.tree_size} has a different root")
    if public_key is None:
        return
    signed = merkle.TreeHead(
        tree_size=head.tree_size,
        root_hash=bytes.fromhex(head.root_hash),
        timestamp_ms=head.timestamp_ms,
        signature=bytes.fromhex(head.signature),
    )
    if not merkle.verify_tree_head(signed, public_key):
        raise _Mismatch(f"the signature of the tree head of size {head.tree_size} does not verify")
