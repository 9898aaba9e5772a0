"""Inspections: templates and their versions, visits, answers and submission."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Response, get, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.identity import Actor
from backend.inspections import Inspection, InspectionAnswer, InspectionTemplate
from backend.inspections import service as inspections
from mobile_api.paging import paginate
from mobile_api.params import PathId
from mobile_api.routes.field_common import ClientId, Cursor, Id, Limit, QueryId
from mobile_api.schemas import Page, Strict, created_or_existing, existed

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Questions = Annotated[list[dict[str, Any]], msgspec.Meta(min_length=1, max_length=200)]


class TemplateIn(Strict):
    owner_id: Id
    title: Title
    questions: Questions


class RevisionIn(Strict):
    title: Title | None = None
    questions: Questions | None = None


class TemplateOut(msgspec.Struct):
    id: str
    family_id: str
    version_no: int
    owner_id: str
    owner_kind: str
    title: str
    questions: list[dict[str, Any]]
    is_current: bool
    created_at: datetime

    @classmethod
    def of(cls, t: InspectionTemplate) -> TemplateOut:
        return cls(
            t.id, t.family_id, t.version_no, t.owner_id, t.owner_kind, t.title, t.questions, t.is_current,
            t.created_at,
        )  # fmt: skip


class InspectionIn(Strict):
    terminal_id: Id
    template_id: Id
    id: ClientId | None = None


class AnswerIn(Strict):
    value: Any
    hlc: Annotated[str, msgspec.Meta(min_length=5, max_length=96)]


class AnswerOut(msgspec.Struct):
    question_id: str
    value: Any
    hlc: str
    answered_by: str
    updated_at: datetime

    @classmethod
    def of(cls, a: InspectionAnswer) -> AnswerOut:
        return cls(a.question_id, a.value, a.hlc, a.answered_by, a.updated_at)


class InspectionOut(msgspec.Struct):
    id: str
    template_id: str
    terminal_id: str
    distributor_id: str
    inspector_id: str
    status: str
    started_at: datetime
    submitted_at: datetime | None
    score: float | None
    max_score: float | None
    score_pct: float | None
    answers: list[AnswerOut] | None = None

    @classmethod
    def of(cls, i: Inspection, answers: list[InspectionAnswer] | None = None) -> InspectionOut:
        return cls(
            i.id, i.template_id, i.terminal_id, i.distributor_id, i.inspector_id, i.status, i.started_at,
            i.submitted_at, i.score, i.max_score, i.score_pct,
            None if answers is None else [AnswerOut.of(a) for a in answers],
        )  # fmt: skip


@post("/inspection-templates", tags=["inspections"], summary="Create a checklist (version 1)")
async def create_template(data: TemplateIn, actor: Actor, db_session: AsyncSession) -> TemplateOut:
    template = await inspections.create_template(
        db_session, actor, owner_id=data.owner_id, title=data.title, questions=data.questions
    )
    return TemplateOut.of(template)


@post(
    "/inspection-templates/{template_id:str}/revisions",
    tags=["inspections"],
    summary="Revise a checklist: adds a version; started inspections keep theirs",
)
async def revise_template(
    template_id: PathId, data: RevisionIn, actor: Actor, db_session: AsyncSession
) -> TemplateOut:
    template = await inspections.revise_template(
        db_session, actor, template_id=template_id, title=data.title, questions=data.questions
    )
    return TemplateOut.of(template)


@get(
    "/inspection-templates", tags=["inspections"], summary="Checklists (current versions unless all_versions)"
)
async def list_templates(
    actor: Actor,
    db_session: AsyncSession,
    cursor: Cursor,
    limit: Limit,
    owner_id: QueryId,
    family_id: QueryId,
    all_versions: bool = False,
) -> Page[TemplateOut]:
    stmt = inspections.templates_query(
        actor, owner_id=owner_id, family_id=family_id, current_only=not all_versions
    )
    return await paginate(db_session, stmt, InspectionTemplate.id, TemplateOut.of, cursor=cursor, limit=limit)


@get("/inspection-templates/{template_id:str}", tags=["inspections"])
async def get_template(template_id: PathId, actor: Actor, db_session: AsyncSession) -> TemplateOut:
    return TemplateOut.of(await inspections.get_template(db_session, actor, template_id))


@post(
    "/inspections",
    tags=["inspections"],
    summary="Start an inspection of a terminal (idempotent on id)",
    responses=existed(InspectionOut),
)
async def start_inspection(
    data: InspectionIn, actor: Actor, db_session: AsyncSession
) -> Response[InspectionOut]:
    inspection = await inspections.start_inspection(
        db_session, actor, inspection_id=data.id, terminal_id=data.terminal_id, template_id=data.template_id
    )
    return created_or_existing(db_session, inspection, InspectionOut.of(inspection))


@get("/inspections", tags=["inspections"])
async def list_inspections(
    actor: Actor,
    db_session: AsyncSession,
    cursor: Cursor,
    limit: Limit,
    terminal_id: QueryId,
    template_id: QueryId,
    inspector_id: QueryId,
    status: Annotated[
        str | None, Parameter(pattern="^(in_progress|submitted)$", max_length=11, default=None)
    ] = None,
) -> Page[InspectionOut]:
    stmt = inspections.inspections_query(
        actor, terminal_id=terminal_id, status=status, template_id=template_id, inspector_id=inspector_id
    )
    return await paginate(db_session, stmt, Inspection.id, InspectionOut.of, cursor=cursor, limit=limit)


@get("/inspections/{inspection_id:str}", tags=["inspections"], summary="An inspection with its answers")
async def get_inspection(inspection_id: PathId, actor: Actor, db_session: AsyncSession) -> InspectionOut:
    inspection = await inspections.get_inspection(db_session, actor, inspection_id)
    return InspectionOut.of(inspection, await inspections.answers_of(db_session, inspection.id))


@put(
    "/inspections/{inspection_id:str}/answers/{question_id:str}",
    tags=["inspections"],
    summary="Answer a question (last writer wins by HLC); returns the answer that stands",
)
async def answer_question(
    inspection_id: PathId, question_id: PathId, data: AnswerIn, actor: Actor, db_session: AsyncSession
) -> AnswerOut:
    answer = await inspections.answer_question(
        db_session,
        actor,
        inspection_id=inspection_id,
        question_id=question_id,
        value=data.value,
        hlc=data.hlc,
    )
    return AnswerOut.of(answer)


@post(
    "/inspections/{inspection_id:str}/submit",
    tags=["inspections"],
    summary="Submit: checks answers and photos, scores, freezes",
    status_code=200,
)
async def submit_inspection(inspection_id: PathId, actor: Actor, db_session: AsyncSession) -> InspectionOut:
    inspection = await inspections.submit_inspection(db_session, actor, inspection_id=inspection_id)
    return InspectionOut.of(inspection, await inspections.answers_of(db_session, inspection.id))


ROUTES = [
    create_template,
    revise_template,
    list_templates,
    get_template,
    start_inspection,
    list_inspections,
    get_inspection,
    answer_question,
    submit_inspection,
]
