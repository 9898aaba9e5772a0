"""Claims from the phone: the seller resolves one offline; the first resolution stands."""

from __future__ import annotations

from typing import Annotated

import msgspec

from backend.acceptance import service as acceptance
from sync.mutations.registry import Args, MutationContext, mutation
from sync.mutations.types import Id

Resolution = Annotated[str, msgspec.Meta(min_length=1, max_length=acceptance.MAX_NOTES)]


class ClaimResolve(Args):
    claim_id: Id
    resolution: Resolution


@mutation("claim.resolve", ClaimResolve)
async def claim_resolve(ctx: MutationContext, args: ClaimResolve) -> dict:
    """Settle a claim (the seller: the supplier for a purchase, the distributor for a sale). A claim
    resolved already is a conflict carrying the resolution that stands."""
    claim = await acceptance.resolve_claim(
        ctx.session, ctx.actor, claim_id=args.claim_id, resolution=args.resolution
    )
    return {"claim_id": claim.id, "state": claim.state}
