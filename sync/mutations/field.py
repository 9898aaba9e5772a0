"""Field work: stock checks (immutable facts) and inspections (per-answer HLC last-writer-wins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from backend.inspections import service as inspections
from backend.inventory import service as inventory
from sync.mutations.registry import Args, MutationContext, mutation
from sync.mutations.types import ClientId, Id


class StockCheckRecord(Args):
    id: ClientId
    org_id: Id
    product_id: Id
    counted_qty: Annotated[int, msgspec.Meta(ge=0, le=inventory.MAX_QTY)]
    observed_at: datetime


class InspectionStart(Args):
    id: ClientId
    terminal_id: Id
    template_id: Id


class InspectionAnswer(Args):
    inspection_id: Id
    question_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    value: Any
    hlc: Annotated[str, msgspec.Meta(min_length=5, max_length=96)]


class InspectionRef(Args):
    inspection_id: Id


def _stock_level_key(args: Any) -> str | None:
    """Counts of one SKU at one place lock its level row."""
    if (
        isinstance(args, dict)
        and isinstance(args.get("org_id"), str)
        and isinstance(args.get("product_id"), str)
    ):
        return f"stock_level:{args['org_id']}:{args['product_id']}"
    return None


@mutation("stock_check.record", StockCheckRecord, lock_key=_stock_level_key)
async def stock_check_record(ctx: MutationContext, args: StockCheckRecord) -> dict:
    """Record a count of a SKU at a warehouse or shelf; the latest observation becomes the level."""
    check = await inventory.record_stock_check(
        ctx.session,
        ctx.actor,
        check_id=args.id,
        org_id=args.org_id,
        product_id=args.product_id,
        counted_qty=args.counted_qty,
        observed_at=args.observed_at,
        device_id=ctx.actor.device_id,
        discrepancy_ratio=ctx.settings.stock_discrepancy_ratio,
    )
    return {"check_id": check.id, "discrepancy": check.discrepancy}


@mutation("inspection.start", InspectionStart)
async def inspection_start(ctx: MutationContext, args: InspectionStart) -> dict:
    """Begin a visit at a terminal against a template version."""
    inspection = await inspections.start_inspection(
        ctx.session,
        ctx.actor,
        inspection_id=args.id,
        terminal_id=args.terminal_id,
        template_id=args.template_id,
    )
    return {"inspection_id": inspection.id, "status": inspection.status}


@mutation("inspection.answer", InspectionAnswer)
async def inspection_answer(ctx: MutationContext, args: InspectionAnswer) -> dict:
    """Answer a question; the answer with the later hybrid logical clock stands."""
    answer = await inspections.answer_question(
        ctx.session,
        ctx.actor,
        inspection_id=args.inspection_id,
        question_id=args.question_id,
        value=args.value,
        hlc=args.hlc,
    )
    # The answer that stands: the phone's own if its clock was the latest, else the server's.
    return {
        "question_id": answer.question_id,
        "value": answer.value,
        "hlc": answer.hlc,
        "kept": "client" if answer.hlc == args.hlc else "server",
    }


@mutation("inspection.submit", InspectionRef)
async def inspection_submit(ctx: MutationContext, args: InspectionRef) -> dict:
    """Submit an inspection; its answers are frozen from then on."""
    inspection = await inspections.submit_inspection(ctx.session, ctx.actor, inspection_id=args.inspection_id)
    return {"inspection_id": inspection.id, "status": inspection.status}
