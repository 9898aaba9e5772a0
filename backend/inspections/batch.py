"""Inspection starts and answers as a set: a batch's visits and checklist answers at once.

:func:`apply_inspection_work` gives each item exactly the outcome
:func:`~backend.inspections.service.start_inspection` or
:func:`~backend.inspections.service.answer_question` would give it had the items run one after
the other in the order given — an answer to an inspection started earlier in the set finds it, a
later answer to the same question sees the earlier one (last writer wins on the HLC stamp,
:func:`~backend.inspections.service.lww_key`). Read once: the inspections named (locked, in id
order), their terminals, the route, the templates, the suppliers authorising the distributors,
the stored answers. The rules are the service's own pure checks, run in memory; new inspections,
new answers and changed answers are written with one statement each, and one change per step.

Submissions are not part of the set: they score, attach photos and append to the evidence log
one by one (a submission ends the group before it). A start or answer row another transaction
inserted after the reads raises :class:`SetRace`; the caller then applies the batch one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog import ChannelAuthorisation
from backend.changefeed.recording import Change, row_changes, write_changes
from backend.db import is_postgres, new_id, utcnow
from backend.errors import DomainError
from backend.identity import Actor, Organisation
from backend.inspections.access import inspection_visible, require_distributor_side, usable_by
from backend.inspections.errors import (
    InspectionNotFound,
    TemplateNotFound,
    TemplateNotUsable,
    UnknownQuestion,
)
from backend.inspections.models import IN_PROGRESS, Inspection, InspectionAnswer, InspectionTemplate
from backend.inspections.questions import validate_answer
from backend.inspections.service import check_open, check_retry, checked_hlc, lww_key
from backend.planmode import writes_planned_by_default
from backend.setreads import Row, SetRace, among_named, as_rows, execute_among
from backend.territory import RouteAssignment
from backend.territory.service import needs_route, terminal_access_refusal, terminal_refusal

_INSPECTIONS = Inspection.__table__
_ANSWERS = InspectionAnswer.__table__


@dataclass(frozen=True, slots=True)
class StartIn:
    inspection_id: str
    terminal_id: str
    template_id: str


@dataclass(frozen=True, slots=True)
class AnswerIn:
    inspection_id: str
    question_id: str
    value: Any
    hlc: str


class Started(NamedTuple):
    inspection_id: str
    status: str


class Standing(NamedTuple):
    """The answer that stands after an ``AnswerIn``."""

    question_id: str
    value: Any
    hlc: str


Outcome = Started | Standing | DomainError


@dataclass
class _Facts:
    inspections: dict[str, Row]
    orgs: dict[str, Row]
    on_route: set[str]
    templates: dict[str, Row]
    authorising: dict[str, set[str]]  # distributor → suppliers authorising it
    answers: dict[tuple[str, str], Row]  # (inspection, question)
    new_inspections: list[Row] = field(default_factory=list)
    new_answers: dict[str, Row] = field(default_factory=dict)
    changed_answers: dict[str, Row] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)


async def apply_inspection_work(
    session: AsyncSession, actor: Actor, items: list[StartIn | AnswerIn]
) -> list[Outcome]:
    """Apply ``items`` as if one after the other; one outcome each, in the same order."""
    now = utcnow()
    facts = await _read(session, actor, items)
    outcomes: list[Outcome] = []
    for item in items:
        try:
            if isinstance(item, StartIn):
                outcomes.append(_start(actor, facts, item, now))
            else:
                outcomes.append(_answer(actor, facts, item, now))
        except DomainError as refusal:
            outcomes.append(refusal)
    await _write(session, facts)
    return outcomes


@cache
def _reads(pg: bool) -> dict[str, Any]:
    """The set's reads, built once; every list is a named parameter (:func:`set_value`)."""
    return {
        "inspections": select(_INSPECTIONS)
        .where(among_named(_INSPECTIONS.c.id, "ids", pg))
        .order_by(_INSPECTIONS.c.id)
        .with_for_update(),
        "orgs": select(Organisation.id, Organisation.kind, Organisation.parent_id).where(
            among_named(Organisation.id, "ids", pg)
        ),
        "route": select(RouteAssignment.terminal_id).where(
            RouteAssignment.user_id == bindparam("user_id"),
            among_named(RouteAssignment.terminal_id, "ids", pg),
        ),
        "templates": select(
            InspectionTemplate.id,
            InspectionTemplate.owner_id,
            InspectionTemplate.owner_kind,
            InspectionTemplate.questions,
        ).where(among_named(InspectionTemplate.id, "ids", pg)),
        "authorising": select(ChannelAuthorisation.distributor_id, ChannelAuthorisation.supplier_id).where(
            among_named(ChannelAuthorisation.distributor_id, "ids", pg),
            ChannelAuthorisation.active.is_(True),
        ),
        "answers": select(_ANSWERS).where(among_named(_ANSWERS.c.inspection_id, "ids", pg)),
    }


async def _read(session: AsyncSession, actor: Actor, items: list[StartIn | AnswerIn]) -> _Facts:
    pg = is_postgres(session)
    q = _reads(pg)
    found = await execute_among(session, q["inspections"], {i.inspection_id for i in items})
    inspections = {r.id: r for r in as_rows(found)}
    starts = [i for i in items if isinstance(i, StartIn)]
    org_ids = {s.terminal_id for s in starts} | {r.terminal_id for r in inspections.values()}
    orgs = {r.id: r for r in as_rows(await execute_among(session, q["orgs"], org_ids))}
    on_route: set[str] = set()
    if any(needs_route(actor, o) for o in orgs.values() if o.kind == "terminal"):
        on_route = set((await execute_among(session, q["route"], orgs, user_id=actor.user_id)).scalars())
    template_ids = {s.template_id for s in starts} | {r.template_id for r in inspections.values()}
    templates = {t.id: t for t in as_rows(await execute_among(session, q["templates"], template_ids))}
    distributors = {o.parent_id for o in orgs.values() if o.parent_id is not None}
    authorising: dict[str, set[str]] = {d: set() for d in distributors}
    if distributors and any(t.owner_kind != "distributor" for t in templates.values()):
        for distributor_id, supplier_id in await execute_among(session, q["authorising"], distributors):
            authorising[distributor_id].add(supplier_id)
    answers: dict[tuple[str, str], Row] = {}
    if inspections:
        found = as_rows(await execute_among(session, q["answers"], inspections))
        answers = {(a.inspection_id, a.question_id): a for a in found}
    return _Facts(inspections, orgs, on_route, templates, authorising, answers)


def _terminal(actor: Actor, facts: _Facts, terminal_id: str) -> Row:
    """As ``get_terminal`` then ``require_terminal_access``."""
    terminal = facts.orgs.get(terminal_id)
    if (refusal := terminal_refusal(terminal_id, terminal)) is not None:
        raise refusal
    assert terminal is not None
    if (refusal := terminal_access_refusal(actor, terminal, terminal.id in facts.on_route)) is not None:
        raise refusal
    return terminal


def _start(actor: Actor, facts: _Facts, item: StartIn, now: datetime) -> Outcome:
    """:func:`backend.inspections.service.start_inspection`, in its order of checks."""
    existing = facts.inspections.get(item.inspection_id)
    if existing is not None:
        check_retry(actor, existing, item.inspection_id, item.terminal_id, item.template_id)
        return Started(existing.id, existing.status)
    require_distributor_side(actor)
    terminal = _terminal(actor, facts, item.terminal_id)
    template = facts.templates.get(item.template_id)
    if template is None:
        raise TemplateNotFound(f"template {item.template_id} does not exist")
    distributor_id = terminal.parent_id
    if not usable_by(template, distributor_id, facts.authorising.get(distributor_id, set())):
        raise TemplateNotUsable("that template is not available to this terminal's distributor")
    row = Row({c.key: None for c in _INSPECTIONS.c})
    row.update(
        id=item.inspection_id,
        template_id=template.id,
        template_owner_id=template.owner_id,
        terminal_id=terminal.id,
        distributor_id=distributor_id,
        inspector_id=actor.user_id,
        device_id=actor.device_id,
        status=IN_PROGRESS,
        started_at=now,
        version=1,
    )
    facts.inspections[row.id] = row
    facts.new_inspections.append(row)
    facts.changes.extend(row_changes(Inspection, row))
    return Started(row.id, row.status)


def _answer(actor: Actor, facts: _Facts, item: AnswerIn, now: datetime) -> Outcome:
    """:func:`backend.inspections.service.answer_question`, in its order of checks."""
    checked_hlc(item.hlc, now)
    require_distributor_side(actor)
    inspection = facts.inspections.get(item.inspection_id)
    if inspection is None or not inspection_visible(actor, inspection):
        raise InspectionNotFound(f"inspection {item.inspection_id} does not exist")
    _terminal(actor, facts, inspection.terminal_id)
    check_open(inspection)
    question = InspectionTemplate.question(facts.templates[inspection.template_id], item.question_id)  # type: ignore[arg-type]
    if question is None:
        raise UnknownQuestion(f"question {item.question_id!r} is not in this template version")
    value = validate_answer(question, item.value)
    key = (inspection.id, item.question_id)
    answer = facts.answers.get(key)
    if answer is None:
        answer = Row(
            id=new_id(),
            inspection_id=inspection.id,
            question_id=item.question_id,
            distributor_id=inspection.distributor_id,
            terminal_id=inspection.terminal_id,
            version=1,
        )
        facts.answers[key] = facts.new_answers[answer.id] = answer
    elif lww_key(item.hlc, value) <= lww_key(answer.hlc, answer.value):
        return Standing(answer.question_id, answer.value, answer.hlc)
    elif answer.id not in facts.new_answers:
        answer["version"] += 1
        facts.changed_answers[answer.id] = answer
    else:
        answer["version"] += 1
    answer.update(
        value=value, hlc=item.hlc, answered_by=actor.user_id, device_id=actor.device_id, updated_at=now
    )
    facts.changes.extend(row_changes(InspectionAnswer, answer))
    return Standing(answer.question_id, answer.value, answer.hlc)


async def _write(session: AsyncSession, facts: _Facts) -> None:
    if not facts.changes:
        return
    async with writes_planned_by_default(session):
        try:
            if facts.new_inspections:
                await session.execute(insert(_INSPECTIONS), facts.new_inspections)
            if facts.new_answers:
                await session.execute(insert(_ANSWERS), list(facts.new_answers.values()))
        except IntegrityError as exc:
            raise SetRace("another transaction wrote an inspection or answer this set creates") from exc
        if facts.changed_answers:
            upsert = (pg_insert if is_postgres(session) else sqlite_insert)(_ANSWERS)
            upsert = upsert.on_conflict_do_update(
                index_elements=[_ANSWERS.c.id],
                set_={c.name: upsert.excluded[c.name] for c in _ANSWERS.c if c.name != "id"},
            )
            await session.execute(upsert, sorted(facts.changed_answers.values(), key=lambda r: r["id"]))
    write_changes(session.sync_session, facts.changes)
    sync = session.sync_session
    for obj in list(sync.identity_map.values()):
        if isinstance(obj, InspectionAnswer) and obj.id in facts.changed_answers:
            sync.expire(obj)
