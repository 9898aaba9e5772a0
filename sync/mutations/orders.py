"""Order mutations: the server-authoritative state machine with per-line draft edits."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from backend.orders import service as orders
from backend.orders.models import Order
from sync.mutations.registry import Args, MutationContext, mutation
from sync.mutations.types import ClientId, Id

Qty = Annotated[int, msgspec.Meta(ge=0, le=orders.MAX_QTY)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=orders.MAX_TEXT)]


class Line(Args):
    product_id: Id
    qty: Annotated[int, msgspec.Meta(ge=1, le=orders.MAX_QTY)]


class OrderCreate(Args):
    id: ClientId
    kind: Literal["purchase", "sales"]
    supplier_id: Id | None = None
    terminal_id: Id | None = None
    lines: Annotated[list[Line], msgspec.Meta(max_length=orders.MAX_LINES)] = []


class OrderLineUpdate(Args):
    order_id: Id
    product_id: Id
    # 0 removes the line.
    qty: Qty


class OrderRef(Args):
    order_id: Id


class OrderReject(Args):
    order_id: Id
    reason: Reason


class OrderShip(Args):
    order_id: Id
    delivery_id: ClientId
    delivery_note: Annotated[str, msgspec.Meta(max_length=orders.MAX_TEXT)] = ""


def _state(order: Order) -> dict[str, Any]:
    return {"order_id": order.id, "state": order.state, "version": order.version}


@mutation("order.create", OrderCreate)
async def order_create(ctx: MutationContext, args: OrderCreate) -> dict:
    """Create a draft purchase order (to a supplier) or sales order (at a terminal)."""
    order = await orders.create_order(
        ctx.session,
        ctx.actor,
        order_id=args.id,
        kind=args.kind,
        supplier_id=args.supplier_id,
        terminal_id=args.terminal_id,
        lines=[(line.product_id, line.qty) for line in args.lines],
    )
    return _state(order)


@mutation("order.update_line", OrderLineUpdate)
async def order_update_line(ctx: MutationContext, args: OrderLineUpdate) -> dict:
    """Set one line of a draft (lines merge per product; qty 0 removes it)."""
    order = await orders.set_line(
        ctx.session, ctx.actor, order_id=args.order_id, product_id=args.product_id, qty=args.qty
    )
    return _state(order)


@mutation("order.submit", OrderRef)
async def order_submit(ctx: MutationContext, args: OrderRef) -> dict:
    """Submit a draft; channel authorisation and quota are checked as it reaches the server."""
    return _state(await orders.submit_order(ctx.session, ctx.actor, order_id=args.order_id))


@mutation("order.cancel", OrderRef)
async def order_cancel(ctx: MutationContext, args: OrderRef) -> dict:
    """The buyer cancels an order that has not been confirmed."""
    return _state(await orders.cancel_order(ctx.session, ctx.actor, order_id=args.order_id))


@mutation("order.confirm", OrderRef)
async def order_confirm(ctx: MutationContext, args: OrderRef) -> dict:
    """The seller confirms a submitted order."""
    return _state(await orders.confirm_order(ctx.session, ctx.actor, order_id=args.order_id))


@mutation("order.reject", OrderReject)
async def order_reject(ctx: MutationContext, args: OrderReject) -> dict:
    """The seller rejects a submitted order, with a reason."""
    order = await orders.reject_order(ctx.session, ctx.actor, order_id=args.order_id, reason=args.reason)
    return _state(order)


@mutation("order.ship", OrderShip)
async def order_ship(ctx: MutationContext, args: OrderShip) -> dict:
    """The seller ships a confirmed order in full; the delivery awaits acceptance."""
    delivery = await orders.ship_order(
        ctx.session,
        ctx.actor,
        order_id=args.order_id,
        delivery_id=args.delivery_id,
        delivery_note=args.delivery_note,
    )
    return {"delivery_id": delivery.id, "order_id": delivery.order_id, "state": delivery.state}
