"""Replenishment from the phone: turn a place's open suggestions into a draft order."""

from __future__ import annotations

from typing import Annotated

import msgspec

from backend.forecasting import order_suggestions
from sync.mutations.registry import Args, MutationContext, mutation
from sync.mutations.types import ClientId, Id


class SuggestionOrder(Args):
    order_id: ClientId
    org_id: Id  # the distributor (its warehouse: a purchase order) or a terminal (its shelf: a sales order)
    supplier_id: Id | None = None
    suggestion_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=500)] | None = None


@mutation("suggestion.order", SuggestionOrder)
async def suggestion_order(ctx: MutationContext, args: SuggestionOrder) -> dict:
    """Make a draft order of the open suggestions of a warehouse (purchase) or a shelf (sales)."""
    order = await order_suggestions(
        ctx.session,
        ctx.actor,
        org_id=args.org_id,
        order_id=args.order_id,
        supplier_id=args.supplier_id,
        suggestion_ids=args.suggestion_ids,
    )
    return {"order_id": order.id, "kind": order.kind, "state": order.state}
