"""Set handler of a batch's order work: creates, line edits and submissions as one group.

One family (:func:`~sync.batch.registry.set_family`), so an edit or submission of an order
created earlier in the batch is applied with it, in ``seq`` order
(:mod:`backend.orders.batch` models it). Nothing of it falls back to the one-by-one path but a
lost race (an order id inserted meanwhile by another transaction), which sends the batch one by
one. Cancel, confirm, reject and ship stay one by one: they end the group.
"""

from __future__ import annotations

from typing import Any

from backend.orders.batch import CreateIn, LineIn, OrderState, SubmitIn, apply_order_work
from sync.batch.registry import GroupContext, GroupOutcome, set_family
from sync.mutations.orders import OrderCreate, OrderLineUpdate, OrderRef

# Mutations that neither read nor write orders, lines, quotas, prices, authorisations, products,
# regions, organisations or routes (the order rules' facts). Anything not listed ends the group.
ORDER_INDEPENDENT = frozenset(
    {
        "stock_check.record",
        "inspection.start",
        "inspection.answer",
        "inspection.submit",
        "message.send",
        "message.read",
        "profile.update",
    }
)


def _item(name: str, args: Any) -> CreateIn | LineIn | SubmitIn:
    if name == "order.create":
        lines = [(line.product_id, line.qty) for line in args.lines]
        return CreateIn(args.id, args.kind, args.supplier_id, args.terminal_id, lines)
    if name == "order.update_line":
        return LineIn(args.order_id, args.product_id, args.qty)
    return SubmitIn(args.order_id)


@set_family(
    {"order.create": OrderCreate, "order.update_line": OrderLineUpdate, "order.submit": OrderRef},
    independent_of=ORDER_INDEPENDENT,
)
async def order_work(ctx: GroupContext, items: list[tuple[str, Any]]) -> list[GroupOutcome]:
    """``order.create`` / ``order.update_line`` / ``order.submit`` for a group: as one by one."""
    outcomes = await apply_order_work(ctx.session, ctx.actor, [_item(n, a) for n, a in items])
    return [o._asdict() if isinstance(o, OrderState) else o for o in outcomes]
