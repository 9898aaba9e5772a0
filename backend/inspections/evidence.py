"""Where inspections meet media (attached photos) and the evidence log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.evidence import register_record_source
from backend.evidence.service import append_record
from backend.identity import Actor
from backend.inspections.models import Inspection, InspectionAnswer, InspectionTemplate
from backend.media.errors import MediaNotFound
from backend.media.service import attach, attached_hashes

RECORD_TYPE = "inspection"


def inspection_document(
    inspection: Inspection, template: InspectionTemplate, answers: list[InspectionAnswer]
) -> dict[str, Any]:
    """The record the evidence log commits to: what was asked, answered, by whom and when."""
    return {
        "inspection_id": inspection.id,
        "template_id": template.id,
        "template_family_id": template.family_id,
        "template_version": template.version_no,
        "terminal_id": inspection.terminal_id,
        "distributor_id": inspection.distributor_id,
        "inspector_id": inspection.inspector_id,
        "started_at": inspection.started_at.isoformat(),
        "submitted_at": inspection.submitted_at.isoformat() if inspection.submitted_at else None,
        "submitted_by": inspection.submitted_by,
        "score": inspection.score,
        "max_score": inspection.max_score,
        "score_pct": inspection.score_pct,
        "answers": [
            {"question_id": a.question_id, "value": a.value, "hlc": a.hlc, "answered_by": a.answered_by}
            for a in sorted(answers, key=lambda a: a.question_id)
        ],
    }


async def attach_answer_photos(
    session: AsyncSession, actor: Actor, inspection_id: str, hashes: list[str]
) -> list[str]:
    """Attach the photos named in photo answers to the inspection; return those not uploaded yet
    (or not visible to ``actor``). Phones upload over tus and answer with the hashes."""
    attached = set(await attached_hashes(session, RECORD_TYPE, inspection_id, kind="photo"))
    missing: list[str] = []
    for sha256 in hashes:
        if sha256 in attached:
            continue
        try:
            await attach(session, actor, sha256=sha256, record_type=RECORD_TYPE, record_id=inspection_id)
        except MediaNotFound:
            missing.append(sha256)
    return missing


async def append_inspection(
    session: AsyncSession,
    inspection: Inspection,
    template: InspectionTemplate,
    answers: list[InspectionAnswer],
    photo_hashes: list[str],
) -> None:
    """Append the submitted inspection to the tamper-evident log, in the submitting transaction."""
    await append_record(
        session,
        record_type=RECORD_TYPE,
        record_id=inspection.id,
        document=inspection_document(inspection, template, answers),
        photo_hashes=photo_hashes,
    )


async def stored_document(session: AsyncSession, inspection_id: str) -> dict[str, Any] | None:
    """The submitted inspection as stored now (for ``fieldsync evidence verify``)."""
    inspection = await session.get(Inspection, inspection_id, populate_existing=True)
    if inspection is None:
        return None
    template = await session.get(InspectionTemplate, inspection.template_id)
    if template is None:
        return None
    answers = (
        await session.scalars(
            select(InspectionAnswer)
            .where(InspectionAnswer.inspection_id == inspection_id)
            .execution_options(populate_existing=True)
        )
    ).all()
    return inspection_document(inspection, template, list(answers))


register_record_source(RECORD_TYPE, stored_document)
