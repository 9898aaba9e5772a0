"""Inspection services: versioned templates, visits, last-writer-wins answers, submission.

Templates are immutable per version: revising one adds a version and marks it current, so an
inspection keeps the questions it started with. Answers are last-writer-wins per question on
the phone's hybrid logical clock; ties on equal stamps go to the larger canonical value, so
every order of arrival ends in the same state. A submitted inspection is frozen.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import new_id, utcnow
from backend.errors import Conflict, InvalidInput
from backend.identity import Actor, Organisation
from backend.identity.errors import OrgNotFound
from backend.inspections import evidence
from backend.inspections.access import (
    TEMPLATE_OWNER_KINDS,
    inspection_visibility,
    require_distributor_side,
    require_template_owner,
    template_usable_by,
    template_visibility,
)
from backend.inspections.errors import (
    InspectionFrozen,
    InspectionIdTaken,
    InspectionIncomplete,
    InspectionNotFound,
    PhotosMissing,
    TemplateNotFound,
    TemplateNotUsable,
    UnknownQuestion,
)
from backend.inspections.hlc import InvalidHlc, parse_hlc
from backend.inspections.models import (
    IN_PROGRESS,
    SUBMITTED,
    Inspection,
    InspectionAnswer,
    InspectionTemplate,
)
from backend.inspections.questions import score_answer, validate_answer, validate_questions
from backend.media.visibility import register_record_type
from backend.territory.service import get_terminal, require_terminal_access

MAX_HLC_AHEAD = timedelta(days=1)


def _title(title: str) -> str:
    if not isinstance(title, str) or not 1 <= len(title.strip()) <= 200:
        raise InvalidInput("title must be 1-200 characters", code="invalid_template")
    return title.strip()


# --- templates ---------------------------------------------------------------------------


async def create_template(
    session: AsyncSession, actor: Actor, *, owner_id: str, title: str, questions: list[Any]
) -> InspectionTemplate:
    """Version 1 of a new checklist owned by a supplier or a distributor."""
    owner = await session.get(Organisation, owner_id)
    if owner is None or owner.kind not in TEMPLATE_OWNER_KINDS:
        raise OrgNotFound(f"no supplier or distributor {owner_id}")
    require_template_owner(actor, owner.id, owner.kind)
    template_id = new_id()
    template = InspectionTemplate(
        id=template_id,
        family_id=template_id,
        version_no=1,
        owner_id=owner.id,
        owner_kind=owner.kind,
        title=_title(title),
        questions=validate_questions(questions),
        is_current=True,
        created_by=actor.user_id,
    )
    session.add(template)
    await session.flush()
    return template


async def revise_template(
    session: AsyncSession,
    actor: Actor,
    *,
    template_id: str,
    title: str | None = None,
    questions: list[Any] | None = None,
) -> InspectionTemplate:
    """A new version of a template (which must be the current one); the old one stays as it was."""
    current = (
        await session.execute(
            template_visibility(actor, select(InspectionTemplate))
            .where(InspectionTemplate.id == template_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if current is None:
        raise TemplateNotFound(f"template {template_id} does not exist")
    require_template_owner(actor, current.owner_id, current.owner_kind)
    if not current.is_current:
        latest = (
            await session.execute(
                select(InspectionTemplate.id).where(
                    InspectionTemplate.family_id == current.family_id, InspectionTemplate.is_current.is_(True)
                )
            )
        ).scalar()
        raise Conflict(
            "that is not the current version; revise the current one",
            code="template_outdated",
            details={"current_id": latest},
        )
    revised = InspectionTemplate(
        family_id=current.family_id,
        version_no=current.version_no + 1,
        owner_id=current.owner_id,
        owner_kind=current.owner_kind,
        title=_title(title) if title is not None else current.title,
        questions=validate_questions(questions) if questions is not None else current.questions,
        is_current=True,
        created_by=actor.user_id,
    )
    current.is_current = False
    session.add(revised)
    await session.flush()
    return revised


def templates_query(
    actor: Actor, *, owner_id: str | None = None, family_id: str | None = None, current_only: bool = True
) -> Select:
    stmt = template_visibility(actor, select(InspectionTemplate))
    if owner_id is not None:
        stmt = stmt.where(InspectionTemplate.owner_id == owner_id)
    if family_id is not None:
        stmt = stmt.where(InspectionTemplate.family_id == family_id)
    if current_only:
        stmt = stmt.where(InspectionTemplate.is_current.is_(True))
    return stmt


async def get_template(session: AsyncSession, actor: Actor, template_id: str) -> InspectionTemplate:
    stmt = templates_query(actor, current_only=False).where(InspectionTemplate.id == template_id)
    template = (await session.execute(stmt)).scalar_one_or_none()
    if template is None:
        raise TemplateNotFound(f"template {template_id} does not exist")
    return template


# --- inspections -------------------------------------------------------------------------


async def start_inspection(
    session: AsyncSession, actor: Actor, *, inspection_id: str | None, terminal_id: str, template_id: str
) -> Inspection:
    """Begin a visit at a terminal against a template version (idempotent on ``inspection_id``)."""
    if (retry := await _started_before(session, actor, inspection_id, terminal_id, template_id)) is not None:
        return retry
    require_distributor_side(actor)
    terminal = await get_terminal(session, terminal_id)
    await require_terminal_access(session, actor, terminal)
    distributor_id = terminal.parent_id
    assert distributor_id is not None
    template = await session.get(InspectionTemplate, template_id)
    if template is None:
        raise TemplateNotFound(f"template {template_id} does not exist")
    if not await template_usable_by(session, template, distributor_id):
        raise TemplateNotUsable("that template is not available to this terminal's distributor")
    inspection = Inspection(
        template_id=template.id,
        template_owner_id=template.owner_id,
        terminal_id=terminal.id,
        distributor_id=distributor_id,
        inspector_id=actor.user_id,
        device_id=actor.device_id,
        status=IN_PROGRESS,
        started_at=utcnow(),
    )
    if inspection_id is not None:
        inspection.id = inspection_id
    try:
        async with session.begin_nested():
            session.add(inspection)
    except IntegrityError:
        # The same client id was started concurrently (a retry racing its original).
        retry = await _started_before(session, actor, inspection_id, terminal_id, template_id)
        if retry is None:
            raise
        return retry
    return inspection


async def _started_before(
    session: AsyncSession, actor: Actor, inspection_id: str | None, terminal_id: str, template_id: str
) -> Inspection | None:
    """The inspection already started under ``inspection_id`` (a retry), or ``None``."""
    if inspection_id is None:
        return None
    existing = await session.get(Inspection, inspection_id)
    if existing is None:
        return None
    check_retry(actor, existing, inspection_id, terminal_id, template_id)
    return existing


def check_retry(actor: Actor, existing: Any, inspection_id: str, terminal_id: str, template_id: str) -> None:
    """A start naming an existing inspection must be the caller's retry of the same visit."""
    if (existing.terminal_id, existing.template_id, existing.inspector_id) != (
        terminal_id,
        template_id,
        actor.user_id,
    ):
        raise InspectionIdTaken(f"inspection {inspection_id} exists with other facts")


def inspections_query(
    actor: Actor,
    *,
    terminal_id: str | None = None,
    status: str | None = None,
    template_id: str | None = None,
    inspector_id: str | None = None,
    distributor_id: str | None = None,
) -> Select:
    stmt = inspection_visibility(actor, select(Inspection))
    for column, value in (
        (Inspection.terminal_id, terminal_id),
        (Inspection.status, status),
        (Inspection.template_id, template_id),
        (Inspection.inspector_id, inspector_id),
        (Inspection.distributor_id, distributor_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


async def list_inspections(
    session: AsyncSession, actor: Actor, *, limit: int = 100, **filters: Any
) -> list[Inspection]:
    stmt = inspections_query(actor, **filters).order_by(Inspection.id).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def get_inspection(
    session: AsyncSession, actor: Actor, inspection_id: str, *, for_update: bool = False
) -> Inspection:
    stmt = inspection_visibility(actor, select(Inspection)).where(Inspection.id == inspection_id)
    if for_update:
        stmt = stmt.with_for_update()
    inspection = (await session.execute(stmt)).scalar_one_or_none()
    if inspection is None:
        raise InspectionNotFound(f"inspection {inspection_id} does not exist")
    return inspection


async def can_view_inspection(session: AsyncSession, actor: Actor, inspection_id: str) -> bool:
    """For media: may ``actor`` see photos attached to this inspection?"""
    stmt = inspection_visibility(actor, select(Inspection.id)).where(Inspection.id == inspection_id)
    return (await session.execute(stmt)).first() is not None


async def answers_of(session: AsyncSession, inspection_id: str) -> list[InspectionAnswer]:
    stmt = (
        select(InspectionAnswer)
        .where(InspectionAnswer.inspection_id == inspection_id)
        .order_by(InspectionAnswer.question_id)
    )
    return list((await session.execute(stmt)).scalars())


async def _open_for_work(session: AsyncSession, actor: Actor, inspection_id: str) -> Inspection:
    """The inspection, locked, after checking the actor may work on it and it is not frozen."""
    require_distributor_side(actor)
    inspection = await get_inspection(session, actor, inspection_id, for_update=True)
    await require_terminal_access(session, actor, await get_terminal(session, inspection.terminal_id))
    check_open(inspection)
    return inspection


def check_open(inspection: Any) -> None:
    """A submitted inspection is frozen."""
    if inspection.status != IN_PROGRESS:
        raise InspectionFrozen(
            "this inspection was submitted and can no longer change",
            details={
                "status": inspection.status,
                "submitted_at": inspection.submitted_at.isoformat() if inspection.submitted_at else None,
            },
        )


def checked_hlc(hlc: str, now: datetime) -> None:
    """Refuse a malformed stamp, or one more than :data:`MAX_HLC_AHEAD` ahead of ``now``."""
    stamp = parse_hlc(hlc)
    if stamp.wall_ms > (now + MAX_HLC_AHEAD).timestamp() * 1000:
        raise InvalidHlc("the hlc stamp is more than a day ahead of the server; check the phone's clock")


def lww_key(hlc: str, value: Any) -> tuple[Any, ...]:
    # Equal stamps (one phone replaying, or two phones misconfigured with one node id) fall
    # back to the canonical value, so the winner never depends on arrival order.
    return (*parse_hlc(hlc), json.dumps(value, sort_keys=True, separators=(",", ":")))


async def answer_question(
    session: AsyncSession, actor: Actor, *, inspection_id: str, question_id: str, value: Any, hlc: str
) -> InspectionAnswer:
    """Set an answer unless a later one (by HLC) is already stored; returns the answer that stands."""
    checked_hlc(hlc, utcnow())
    inspection = await _open_for_work(session, actor, inspection_id)
    template = await session.get(InspectionTemplate, inspection.template_id)
    assert template is not None
    question = template.question(question_id)
    if question is None:
        raise UnknownQuestion(f"question {question_id!r} is not in this template version")
    value = validate_answer(question, value)
    answer = (
        await session.execute(
            select(InspectionAnswer).where(
                InspectionAnswer.inspection_id == inspection.id, InspectionAnswer.question_id == question_id
            )
        )
    ).scalar_one_or_none()
    if answer is None:
        answer = InspectionAnswer(
            inspection_id=inspection.id,
            question_id=question_id,
            distributor_id=inspection.distributor_id,
            terminal_id=inspection.terminal_id,
        )
        session.add(answer)
    elif lww_key(hlc, value) <= lww_key(answer.hlc, answer.value):
        return answer
    answer.value = value
    answer.hlc = hlc
    answer.answered_by = actor.user_id
    answer.device_id = actor.device_id
    answer.updated_at = utcnow()
    await session.flush()
    return answer


async def submit_inspection(session: AsyncSession, actor: Actor, *, inspection_id: str) -> Inspection:
    """Check completeness and photos, score, freeze, and append the record to the evidence log."""
    inspection = await _open_for_work(session, actor, inspection_id)
    template = await session.get(InspectionTemplate, inspection.template_id)
    assert template is not None
    answers = {a.question_id: a for a in await answers_of(session, inspection.id)}
    missing = [q["id"] for q in template.questions if q["required"] and q["id"] not in answers]
    short = [
        q["id"]
        for q in template.questions
        if q["kind"] == "photo"
        and q["required"]
        and q["id"] in answers
        and len(answers[q["id"]].value) < q["min_count"]
    ]
    if missing or short:
        raise InspectionIncomplete(
            "answer every required question (and take the photos asked for) before submitting",
            details={"unanswered": missing, "too_few_photos": short},
        )
    photo_hashes = sorted(
        {
            h
            for q in template.questions
            if q["kind"] == "photo" and q["id"] in answers
            for h in answers[q["id"]].value
        }
    )
    missing_photos = await evidence.attach_answer_photos(session, actor, inspection.id, photo_hashes)
    if missing_photos:
        raise PhotosMissing(
            "some photos are not uploaded yet; upload them, then submit again",
            details={"missing": missing_photos},
        )
    earned = possible = 0.0
    for q in template.questions:
        got, out_of = score_answer(q, answers[q["id"]].value if q["id"] in answers else None)
        earned += got
        possible += out_of
    inspection.status = SUBMITTED
    inspection.submitted_at = utcnow()
    inspection.submitted_by = actor.user_id
    inspection.score = round(earned, 3)
    inspection.max_score = round(possible, 3)
    inspection.score_pct = round(100 * earned / possible, 1) if possible else None
    await session.flush()
    await evidence.append_inspection(session, inspection, template, list(answers.values()), photo_hashes)
    return inspection


register_record_type(evidence.RECORD_TYPE, can_view_inspection)
