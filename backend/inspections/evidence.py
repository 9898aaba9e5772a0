"""Where inspections meet media and the evidence log (owned by the media helper)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.inspections.models import Inspection, InspectionAnswer, InspectionTemplate


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


async def attached_photo_hashes(session: AsyncSession, inspection_id: str) -> list[str]:
    """SHA-256 of the photos uploaded and attached to the inspection."""
    # MEDIA-HOOK: backend.media.service.attached_hashes(session, "inspection", inspection_id)
    # lands with the media issue; until then no photo counts as attached.
    return []


async def append_inspection(
    session: AsyncSession,
    inspection: Inspection,
    template: InspectionTemplate,
    answers: list[InspectionAnswer],
    photo_hashes: list[str],
) -> None:
    """Append the submitted inspection to the tamper-evident log, in the submitting transaction."""
    # EVIDENCE-HOOK: backend.evidence.service.append_record(session, record_type="inspection",
    # record_id=inspection.id, document=inspection_document(...), photo_hashes=photo_hashes)
    inspection_document(inspection, template, answers)
