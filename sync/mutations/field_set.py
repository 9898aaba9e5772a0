"""Set handlers of field work: a batch's stock checks recorded together (:mod:`backend.inventory.batch`)."""

from __future__ import annotations

from backend.inventory.batch import CheckDone, CheckIn, record_stock_checks
from sync.batch.registry import GroupContext, GroupOutcome, set_mutation
from sync.mutations.field import StockCheckRecord

# Mutations that neither read nor write stock, locations, routes, products or organisations as
# a count does. acceptance.record (stock movements) and anything not listed end a group.
STOCK_INDEPENDENT = frozenset(
    {
        "inspection.start",
        "inspection.answer",
        "inspection.submit",
        "message.send",
        "message.read",
        "order.create",
        "order.update_line",
        "order.submit",
        "order.cancel",
        "order.confirm",
        "order.reject",
        "profile.update",
        "media.attach",
    }
)


@set_mutation("stock_check.record", independent_of=STOCK_INDEPENDENT)
async def stock_checks_record(ctx: GroupContext, items: list[StockCheckRecord]) -> list[GroupOutcome]:
    """``stock_check.record`` for a group: the same results as one by one."""
    outcomes = await record_stock_checks(
        ctx.session,
        ctx.actor,
        [CheckIn(a.id, a.org_id, a.product_id, a.counted_qty, a.observed_at) for a in items],
        device_id=ctx.actor.device_id,
        discrepancy_ratio=ctx.settings.stock_discrepancy_ratio,
    )
    return [
        {"check_id": o.check_id, "discrepancy": o.discrepancy} if isinstance(o, CheckDone) else o
        for o in outcomes
    ]
