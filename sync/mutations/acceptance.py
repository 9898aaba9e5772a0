"""Goods acceptance: one per delivery, the first submitted wins; a later one is a conflict."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from backend.acceptance import service as acceptance
from sync.mutations.registry import Args, MutationContext, mutation
from sync.mutations.types import ClientId, Id, Sha256

Count = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


class AcceptanceLine(Args):
    delivery_line_id: Id | None = None
    product_id: Id | None = None
    accepted: Count = 0
    short: Count = 0
    damaged: Count = 0
    wrong: Count = 0


class AcceptanceRecord(Args):
    id: ClientId
    delivery_id: Id
    lines: Annotated[list[AcceptanceLine], msgspec.Meta(min_length=1, max_length=500)]
    notes: Annotated[str, msgspec.Meta(max_length=acceptance.MAX_NOTES)] = ""
    gps: Annotated[list[float], msgspec.Meta(min_length=2, max_length=2)] | None = None
    signature_sha256: Sha256 | None = None
    photo_sha256s: Annotated[list[Sha256], msgspec.Meta(max_length=acceptance.MAX_PHOTOS)] = []
    accepted_at: datetime | None = None


@mutation("acceptance.record", AcceptanceRecord)
async def acceptance_record(ctx: MutationContext, args: AcceptanceRecord) -> dict:
    """Accept a shipped delivery line by line (photos may be attached later with media.attach)."""
    record = await acceptance.record_acceptance(
        ctx.session,
        ctx.actor,
        acceptance_id=args.id,
        delivery_id=args.delivery_id,
        lines=[msgspec.structs.asdict(line) for line in args.lines],
        notes=args.notes,
        gps=args.gps,
        signature_sha256=args.signature_sha256,
        photo_sha256s=args.photo_sha256s,
        accepted_at=args.accepted_at,
    )
    return {"acceptance_id": record.id, "delivery_id": record.delivery_id}
