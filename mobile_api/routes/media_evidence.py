"""The evidence log over HTTP: signed tree heads, inclusion proofs per record, consistency proofs."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.bounds import INT64_MAX
from backend.evidence import service as evidence
from backend.evidence.canonical import entry_leaf_bytes
from backend.evidence.errors import EvidenceNotFound
from backend.evidence.signing import load_signing_key, public_key_bytes
from backend.identity import Actor
from backend.media.visibility import can_view_record
from mobile_api.deps import WRITES
from mobile_api.params import PathId


class TreeHeadOut(msgspec.Struct):
    tree_size: int
    root_hash: str
    timestamp_ms: int
    key_id: str
    signature: str
    public_key: str  # raw Ed25519 public key, hex
    algorithm: str = "ed25519"


class EntryProof(msgspec.Struct):
    index: int
    kind: str
    leaf: str  # the canonical leaf bytes (UTF-8 JSON); leaf_hash = SHA-256(0x00 || leaf)
    leaf_hash: str
    document: Any
    photo_hashes: list[str]
    inclusion_proof: list[str]


class RecordProofOut(msgspec.Struct):
    record_type: str
    record_id: str
    tree_head: TreeHeadOut
    entries: list[EntryProof]


class ConsistencyOut(msgspec.Struct):
    first: int
    second: int
    proof: list[str]
    tree_head: TreeHeadOut


async def _signed_head(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    size: int | None = None,
) -> TreeHeadOut:
    """The head signed for ``size`` (which must exist), or a head signed for the current size."""
    settings = request.app.state.settings
    head = (
        await evidence.head_at(session, size)
        if size is not None
        else await evidence.sign_tree_head(session, settings)
    )
    if head is None:
        raise EvidenceNotFound("the evidence log is empty")
    public = public_key_bytes(load_signing_key(settings)).hex()
    return TreeHeadOut(head.tree_size, head.root_hash, head.timestamp_ms, head.key_id, head.signature, public)


@get("/evidence/tree-head", tags=["evidence"], opt={WRITES: True})  # may sign a new head
async def tree_head(request: Request[Any, Any, Any], actor: Actor, db_session: AsyncSession) -> TreeHeadOut:
    """The current signed tree head and the public key that verifies it."""
    return await _signed_head(request, db_session)


@get("/evidence/{record_type:str}/{record_id:str}/proof", tags=["evidence"], opt={WRITES: True})
async def record_proof(
    request: Request[Any, Any, Any],
    record_type: PathId,
    record_id: PathId,
    actor: Actor,
    db_session: AsyncSession,
    tree_size: Annotated[int | None, Parameter(ge=1, le=INT64_MAX)] = None,
) -> RecordProofOut:
    """Every log entry of a record, each with its inclusion proof in the current signed tree head
    (or in the head signed for ``tree_size``, one the client already holds)."""
    entries = await evidence.entries_for(db_session, record_type, record_id)
    if not entries or not await can_view_record(db_session, actor, record_type, record_id):
        raise EvidenceNotFound(f"no evidence for {record_type} {record_id!r} that you may see")
    head = await _signed_head(request, db_session, tree_size)
    proofs = []
    for entry in (e for e in entries if e.index < head.tree_size):
        path = await evidence.inclusion_proof(db_session, entry.index, head.tree_size)
        proofs.append(
            EntryProof(
                index=entry.index,
                kind=entry.kind,
                leaf=entry_leaf_bytes(entry).decode(),
                leaf_hash=entry.leaf_hash,
                document=msgspec.json.decode(entry.document),
                photo_hashes=msgspec.json.decode(entry.photo_hashes),
                inclusion_proof=[p.hex() for p in path],
            )
        )
    return RecordProofOut(record_type, record_id, head, proofs)


@get("/evidence/consistency", tags=["evidence"], opt={WRITES: True})
async def consistency(
    request: Request[Any, Any, Any],
    actor: Actor,
    db_session: AsyncSession,
    first: Annotated[int, Parameter(ge=0, le=INT64_MAX)],
    second: Annotated[int | None, Parameter(ge=0, le=INT64_MAX)] = None,
) -> ConsistencyOut:
    """Proof that the log of size ``first`` is a prefix of the log of size ``second`` (default: now)."""
    head = await _signed_head(request, db_session)
    second = head.tree_size if second is None else second
    proof = await evidence.consistency_proof(db_session, first, second)
    return ConsistencyOut(first, second, [p.hex() for p in proof], head)


ROUTES: list[Any] = [tree_head, record_proof, consistency]
