"""Set handler of a batch's inspection work: starts and answers as one group.

One family, so answers to an inspection started earlier in the batch are applied with it
(:mod:`backend.inspections.batch`). ``inspection.submit`` stays one by one (scoring, photo
evidence and the evidence log, per record): it ends the group, as anything not listed below does.
"""

from __future__ import annotations

from typing import Any

from backend.inspections.batch import AnswerIn, Standing, Started, StartIn, apply_inspection_work
from sync.batch.registry import GroupContext, GroupOutcome, set_family
from sync.mutations.field import InspectionAnswer, InspectionStart

# Mutations that neither read nor write inspections, answers, templates, terminals, routes or
# channel authorisations (what the inspection rules read).
INSPECTION_INDEPENDENT = frozenset(
    {
        "stock_check.record",
        "order.create",
        "order.update_line",
        "order.submit",
        "message.send",
        "message.read",
        "profile.update",
    }
)


@set_family(
    {"inspection.start": InspectionStart, "inspection.answer": InspectionAnswer},
    independent_of=INSPECTION_INDEPENDENT,
)
async def inspection_work(ctx: GroupContext, items: list[tuple[str, Any]]) -> list[GroupOutcome]:
    """``inspection.start`` / ``inspection.answer`` for a group: as one by one."""
    work = [
        StartIn(a.id, a.terminal_id, a.template_id)
        if name == "inspection.start"
        else AnswerIn(a.inspection_id, a.question_id, a.value, a.hlc)
        for name, a in items
    ]
    outcomes = await apply_inspection_work(ctx.session, ctx.actor, work)
    out: list[GroupOutcome] = []
    for (_name, args), o in zip(items, outcomes, strict=True):
        if isinstance(o, Started):
            out.append({"inspection_id": o.inspection_id, "status": o.status})
        elif isinstance(o, Standing):
            # The answer that stands: the phone's own if its clock was the latest, else the server's.
            kept = "client" if o.hlc == args.hlc else "server"
            out.append({"question_id": o.question_id, "value": o.value, "hlc": o.hlc, "kept": kept})
        else:
            out.append(o)
    return out
