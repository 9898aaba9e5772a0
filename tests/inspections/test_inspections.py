"""Inspections: template versioning, visits, LWW answers on HLC stamps, frozen submissions, scores."""

from __future__ import annotations

import itertools

import msgspec
import pytest
from sqlalchemy import select

from backend.changefeed import ChangeLog
from backend.db import new_id
from backend.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.inspections import (
    answer_question,
    create_template,
    get_inspection,
    list_inspections,
    revise_template,
    start_inspection,
    submit_inspection,
)
from backend.inspections.errors import (
    InspectionFrozen,
    InspectionIdTaken,
    InspectionIncomplete,
    InspectionNotFound,
    InvalidAnswer,
    InvalidHlc,
    InvalidTemplate,
    PhotosMissing,
    TemplateNotFound,
    TemplateNotUsable,
    UnknownQuestion,
)
from backend.inspections.hlc import format_hlc, parse_hlc
from backend.inspections.questions import validate_answer, validate_questions
from backend.inspections.service import answers_of, get_template, templates_query
from backend.territory.errors import NotOnRoute, TerminalNotFound
from mobile_api.routes.field_inspections import InspectionIn
from sync.mutations.field import InspectionStart
from tests.inventory.helpers import actor, terminal_of

QUESTIONS = [
    {"id": "clean", "kind": "yes_no", "text": "Shelf clean?", "weight": 2},
    {"id": "facings", "kind": "number", "text": "Facings", "min": 0, "max": 100, "pass_min": 4, "weight": 3},
    {
        "id": "placement",
        "kind": "single_choice",
        "text": "Placement",
        "options": ["eye", "low", "none"],
        "scores": {"eye": 1, "low": 0.5},
        "weight": 4,
    },
    {
        "id": "promos",
        "kind": "multi_choice",
        "text": "Promos",
        "options": ["poster", "wobbler"],
        "required": False,
    },
    {"id": "notes", "kind": "text", "text": "Notes", "required": False, "max_length": 50},
]
PHOTO_Q = {"id": "shelf_photo", "kind": "photo", "text": "Photo of the shelf", "min_count": 2}


def hlc(ms: int, counter: int = 0, node: str = "phone-a") -> str:
    return f"{1_764_000_000_000 + ms}:{counter}:{node}"


async def _setup(session, network, questions=QUESTIONS, owner="dist-00"):
    staff = actor(network, "dist-north" if owner == "dist-00" else "supplier-a")
    template = await create_template(
        session, staff, owner_id=network.org(owner).id, title="Shelf audit", questions=questions
    )
    shop = terminal_of(network, "dist-00")
    inspector = actor(network, "inspector-north")
    inspection = await start_inspection(
        session, inspector, inspection_id=new_id(), terminal_id=shop.id, template_id=template.id
    )
    return template, inspection, inspector


async def _answer_all(session, who, inspection_id, ms=0):
    for qid, value in (("clean", True), ("facings", 5), ("placement", "low")):
        await answer_question(
            session, who, inspection_id=inspection_id, question_id=qid, value=value, hlc=hlc(ms)
        )


class TestTemplates:
    async def scenario_revising_adds_a_version_and_started_inspections_keep_theirs(
        self, session_factory, network
    ):
        async with session_factory() as session:
            v1, inspection, inspector = await _setup(session, network)
            staff = actor(network, "dist-north")
            v2 = await revise_template(
                session, staff, template_id=v1.id, questions=[{"id": "new", "kind": "yes_no", "text": "New?"}]
            )
            assert (v2.family_id, v2.version_no, v2.is_current, v1.is_current) == (v1.id, 2, True, False)
            assert [q["id"] for q in v1.questions] == [q["id"] for q in QUESTIONS]
            # the started visit still answers v1's questions, not v2's
            await answer_question(
                session, inspector, inspection_id=inspection.id, question_id="clean", value=True, hlc=hlc(1)
            )
            with pytest.raises(UnknownQuestion):
                await answer_question(
                    session, inspector, inspection_id=inspection.id, question_id="new", value=True, hlc=hlc(1)
                )
            with pytest.raises(Conflict) as err:
                await revise_template(session, staff, template_id=v1.id, title="again")
            assert err.value.code == "template_outdated" and err.value.details == {"current_id": v2.id}
            current = (await session.execute(templates_query(staff))).scalars().all()
            assert [t.id for t in current] == [v2.id]
            await session.commit()

    async def scenario_owner_rights_and_visibility(self, session_factory, network):
        async with session_factory() as session:
            supplier_tpl = await create_template(
                session,
                actor(network, "supplier-a"),
                owner_id=network.org("sup-a").id,
                title="A",
                questions=QUESTIONS,
            )
            dist_tpl = await create_template(
                session,
                actor(network, "dist-north"),
                owner_id=network.org("dist-00").id,
                title="N",
                questions=QUESTIONS,
            )
            with pytest.raises(PermissionDenied):
                await create_template(
                    session,
                    actor(network, "dist-south"),
                    owner_id=network.org("dist-00").id,
                    title="x",
                    questions=QUESTIONS,
                )
            with pytest.raises(PermissionDenied):
                await create_template(
                    session,
                    actor(network, "supplier-b"),
                    owner_id=network.org("sup-a").id,
                    title="x",
                    questions=QUESTIONS,
                )
            with pytest.raises(PermissionDenied):
                await create_template(
                    session,
                    actor(network, "field-north"),
                    owner_id=network.org("dist-00").id,
                    title="x",
                    questions=QUESTIONS,
                )
            with pytest.raises(TemplateNotFound):
                await revise_template(
                    session, actor(network, "supplier-b"), template_id=supplier_tpl.id, title="x"
                )
            with pytest.raises(PermissionDenied):  # a distributor sees a supplier's template, may not edit it
                await revise_template(
                    session, actor(network, "dist-south"), template_id=supplier_tpl.id, title="x"
                )
            # dist-south sees supplier A's template (authorised) but not dist-north's own
            assert (
                await get_template(session, actor(network, "dist-south"), supplier_tpl.id)
            ).id == supplier_tpl.id
            with pytest.raises(TemplateNotFound):
                await get_template(session, actor(network, "dist-south"), dist_tpl.id)
            with pytest.raises(TemplateNotFound):
                await get_template(session, actor(network, "supplier-b"), supplier_tpl.id)
            with pytest.raises(TemplateNotFound):
                await revise_template(
                    session, actor(network, "dist-south"), template_id=dist_tpl.id, title="x"
                )
            await session.commit()
        async with session_factory() as session:
            scopes = dict(
                (
                    await session.execute(
                        select(ChangeLog.entity_id, ChangeLog.scope).where(
                            ChangeLog.entity == "inspection_template",
                            ChangeLog.entity_id.in_([supplier_tpl.id, dist_tpl.id]),
                        )
                    )
                ).all()
            )
        assert scopes == {
            supplier_tpl.id: f"catalog:{supplier_tpl.owner_id}",
            dist_tpl.id: f"org:{dist_tpl.owner_id}",
        }

    async def scenario_a_bad_template_is_refused(self, session_factory, network):
        async with session_factory() as session:
            with pytest.raises(InvalidTemplate):
                await create_template(
                    session,
                    actor(network, "dist-north"),
                    owner_id=network.org("dist-00").id,
                    title="t",
                    questions=[{"id": "a", "kind": "rating", "text": "?"}],
                )
            with pytest.raises(InvalidInput):
                await create_template(
                    session,
                    actor(network, "dist-north"),
                    owner_id=network.org("dist-00").id,
                    title=" ",
                    questions=QUESTIONS,
                )

    async def test_templates(self, session_factory, network):
        # One seeded network for the whole use case; each scenario uses its own rows.
        for scenario in (
            self.scenario_revising_adds_a_version_and_started_inspections_keep_theirs,
            self.scenario_owner_rights_and_visibility,
            self.scenario_a_bad_template_is_refused,
        ):
            await scenario(session_factory, network)


@pytest.mark.parametrize(
    "questions",
    [
        [],
        "nope",
        [{"id": "a", "kind": "rating", "text": "?"}],
        [{"id": "a b", "kind": "yes_no", "text": "?"}],
        [{"id": "a", "kind": "yes_no", "text": ""}],
        [{"id": "a", "kind": "yes_no", "text": "?"}, {"id": "a", "kind": "text", "text": "?"}],
        [{"id": "a", "kind": "number", "text": "?", "min": 5, "max": 1}],
        [{"id": "a", "kind": "single_choice", "text": "?", "options": []}],
        [{"id": "a", "kind": "single_choice", "text": "?", "options": ["x", "x"]}],
        [{"id": "a", "kind": "single_choice", "text": "?", "options": ["x"], "scores": {"y": 1}}],
        [{"id": "a", "kind": "photo", "text": "?", "min_count": 0}],
        [{"id": "a", "kind": "yes_no", "text": "?", "weight": -1}],
        [{"id": "a", "kind": "yes_no", "text": "?", "options": ["x"]}],
        [{"id": "a", "kind": "number", "text": "?", "max": float("nan")}],
        [{"id": "a", "kind": "number", "text": "?", "max": 10**400}],
    ],
)
def test_bad_questions(questions):
    with pytest.raises(InvalidTemplate):
        validate_questions(questions)


QUESTION_BY_ID = {q["id"]: q for q in validate_questions([*QUESTIONS, PHOTO_Q])}


@pytest.mark.parametrize(
    ("question_id", "value"),
    [
        ("clean", "yes"),
        ("facings", 101),
        ("facings", True),
        ("facings", "5"),
        ("facings", 10**400),
        ("placement", "top"),
        ("placement", ["eye"]),
        ("promos", ["poster", "poster"]),
        ("promos", "poster"),
        ("notes", "x" * 51),
        ("shelf_photo", ["A" * 64]),
        ("shelf_photo", "a" * 64),
    ],
)
def test_bad_answers(question_id, value):
    with pytest.raises(InvalidAnswer):
        validate_answer(QUESTION_BY_ID[question_id], value)


@pytest.mark.parametrize("stamp", ["yesterday", "1:2", "1:2:", "a:0:x", "1:0:" + "n" * 65, 5])
def test_bad_hlc_stamps(stamp):
    with pytest.raises(InvalidHlc):
        parse_hlc(stamp)


def test_hlc_order_is_wall_then_counter_then_node():
    assert parse_hlc("2:0:a") > parse_hlc("1:9:z") and parse_hlc("1:2:a") > parse_hlc("1:1:z")
    assert parse_hlc("10:0:a") > parse_hlc("9:0:a")  # numeric, not string order
    assert parse_hlc(format_hlc(5, 1, "b")) > parse_hlc("5:1:a")


class TestVisits:
    async def scenario_start_is_idempotent_and_checks_rights(self, session_factory, network):
        async with session_factory() as session:
            template, inspection, inspector = await _setup(session, network)
            shop = terminal_of(network, "dist-00")
            again = await start_inspection(
                session, inspector, inspection_id=inspection.id, terminal_id=shop.id, template_id=template.id
            )
            assert again is inspection
            with pytest.raises(InspectionIdTaken):
                await start_inspection(
                    session,
                    inspector,
                    inspection_id=inspection.id,
                    terminal_id=terminal_of(network, "dist-00", 1).id,
                    template_id=template.id,
                )
            with pytest.raises(TerminalNotFound):  # another distributor's terminal looks missing
                await start_inspection(
                    session,
                    actor(network, "dist-south"),
                    inspection_id=None,
                    terminal_id=shop.id,
                    template_id=template.id,
                )
            with pytest.raises(NotOnRoute):
                await start_inspection(
                    session,
                    actor(network, "field-north"),
                    inspection_id=None,
                    terminal_id=shop.id,
                    template_id=template.id,
                )
            with pytest.raises(PermissionDenied):
                await start_inspection(
                    session,
                    actor(network, "supplier-a"),
                    inspection_id=None,
                    terminal_id=shop.id,
                    template_id=template.id,
                )
            # a distributor's own template is not for another distributor's terminals
            with pytest.raises(TemplateNotUsable):
                await start_inspection(
                    session,
                    actor(network, "dist-south"),
                    inspection_id=None,
                    terminal_id=terminal_of(network, "dist-20").id,
                    template_id=template.id,
                )
            # a malformed client id never reaches the service: the boundary types refuse it
            for boundary in (InspectionStart, InspectionIn):
                with pytest.raises(msgspec.ValidationError, match="id"):
                    msgspec.convert(
                        {"id": "XYZ", "terminal_id": shop.id, "template_id": template.id}, boundary
                    )
            with pytest.raises(NotFound):
                await start_inspection(
                    session,
                    inspector,
                    inspection_id=None,
                    terminal_id=network.org("dist-00").id,
                    template_id=template.id,
                )

    async def scenario_supplier_template_is_used_by_an_authorised_distributor_and_seen_by_the_supplier(
        self, session_factory, network
    ):
        async with session_factory() as session:
            _template, inspection, inspector = await _setup(session, network, owner="sup-a")
            await _answer_all(session, inspector, inspection.id)
            await submit_inspection(session, inspector, inspection_id=inspection.id)
            assert (
                await get_inspection(session, actor(network, "supplier-a"), inspection.id)
            ).id == inspection.id
            with pytest.raises(InspectionNotFound):
                await get_inspection(session, actor(network, "supplier-b"), inspection.id)
            with pytest.raises(InspectionNotFound):
                await get_inspection(session, actor(network, "dist-south"), inspection.id)
            assert await list_inspections(session, actor(network, "dist-south")) == []
            assert await list_inspections(session, actor(network, "supplier-b")) == []
            assert [i.id for i in await list_inspections(session, actor(network, "dist-north"))] == [
                inspection.id
            ]
            await session.commit()

    async def scenario_submit_scores_and_freezes(self, session_factory, network):
        async with session_factory() as session:
            _t, inspection, inspector = await _setup(session, network)
            with pytest.raises(InspectionIncomplete) as err:
                await submit_inspection(session, inspector, inspection_id=inspection.id)
            assert err.value.details["unanswered"] == ["clean", "facings", "placement"]
            await _answer_all(session, inspector, inspection.id)
            done = await submit_inspection(session, inspector, inspection_id=inspection.id)
            # clean 2/2, facings 3/3, placement low 2/4; multi choice without answer has no scores
            assert (done.status, done.score, done.max_score, done.score_pct) == ("submitted", 7.0, 9.0, 77.8)
            with pytest.raises(InspectionFrozen):
                await answer_question(
                    session,
                    inspector,
                    inspection_id=inspection.id,
                    question_id="clean",
                    value=False,
                    hlc=hlc(99),
                )
            with pytest.raises(InspectionFrozen) as frozen:
                await submit_inspection(session, inspector, inspection_id=inspection.id)
            assert frozen.value.code == "inspection_frozen" and frozen.value.details["status"] == "submitted"
            answers = {a.question_id: a.value for a in await answers_of(session, inspection.id)}
            assert answers == {"clean": True, "facings": 5, "placement": "low"}
            await session.commit()

    async def scenario_photo_questions_need_enough_attached_photos(self, session_factory, network):
        async with session_factory() as session:
            _t, inspection, inspector = await _setup(session, network, questions=[*QUESTIONS, PHOTO_Q])
            await _answer_all(session, inspector, inspection.id)
            one = ["a" * 64]
            await answer_question(
                session,
                inspector,
                inspection_id=inspection.id,
                question_id="shelf_photo",
                value=one,
                hlc=hlc(1),
            )
            with pytest.raises(InspectionIncomplete) as err:
                await submit_inspection(session, inspector, inspection_id=inspection.id)
            assert err.value.details["too_few_photos"] == ["shelf_photo"]
            two = ["a" * 64, "b" * 64]
            await answer_question(
                session,
                inspector,
                inspection_id=inspection.id,
                question_id="shelf_photo",
                value=two,
                hlc=hlc(2),
            )
            with pytest.raises(PhotosMissing) as missing:
                await submit_inspection(session, inspector, inspection_id=inspection.id)
            assert missing.value.details["missing"] == two

    async def test_visits(self, session_factory, network):
        # One seeded network for the whole use case; each scenario uses its own rows.
        for scenario in (
            self.scenario_supplier_template_is_used_by_an_authorised_distributor_and_seen_by_the_supplier,
            self.scenario_start_is_idempotent_and_checks_rights,
            self.scenario_submit_scores_and_freezes,
            self.scenario_photo_questions_need_enough_attached_photos,
        ):
            await scenario(session_factory, network)


class TestLastWriterWins:
    async def scenario_later_stamp_wins_and_earlier_is_ignored(self, session_factory, network):
        async with session_factory() as session:
            _t, inspection, inspector = await _setup(session, network)
            args = {"inspection_id": inspection.id, "question_id": "facings"}
            await answer_question(session, inspector, **args, value=10, hlc=hlc(200))
            kept = await answer_question(session, inspector, **args, value=3, hlc=hlc(100, node="phone-b"))
            assert (kept.value, kept.hlc) == (10, hlc(200))
            # same millisecond, higher counter wins
            won = await answer_question(session, inspector, **args, value=4, hlc=hlc(200, counter=1))
            assert won.value == 4
            await session.commit()
        async with session_factory() as session:
            rows = (
                await session.execute(
                    select(ChangeLog.entity, ChangeLog.scope).where(
                        ChangeLog.entity_id.in_([inspection.id, won.id])
                    )
                )
            ).all()
        shop = terminal_of(network, "dist-00")
        expected = {f"org:{shop.parent_id}", f"terminal:{shop.id}"}
        assert {s for e, s in rows if e == "inspection"} == expected
        assert {s for e, s in rows if e == "inspection_answer"} == expected

    async def scenario_every_arrival_order_converges(self, session_factory, network):
        writes = [
            (hlc(5, 0, "a"), 1),
            (hlc(5, 0, "b"), 2),
            (hlc(5, 1, "a"), 3),
            (hlc(4, 9, "z"), 4),
            (hlc(5, 1, "a"), 0),  # equal stamp, different value: decided by the value, not by arrival
        ]
        outcomes = set()
        async with session_factory() as session:
            template = await create_template(
                session,
                actor(network, "dist-north"),
                owner_id=network.org("dist-00").id,
                title="t",
                questions=QUESTIONS,
            )
            inspector = actor(network, "inspector-north")
            shop = terminal_of(network, "dist-00")
            for order in itertools.islice(itertools.permutations(writes), 0, None, 7):
                inspection = await start_inspection(
                    session, inspector, inspection_id=None, terminal_id=shop.id, template_id=template.id
                )
                for stamp, value in order:
                    last = await answer_question(
                        session,
                        inspector,
                        inspection_id=inspection.id,
                        question_id="facings",
                        value=value,
                        hlc=stamp,
                    )
                outcomes.add((last.hlc, last.value))
            await session.commit()
        assert outcomes == {(hlc(5, 1, "a"), 3)}

    async def scenario_bad_answers_are_refused(self, session_factory, network):
        async with session_factory() as session:
            _t, inspection, inspector = await _setup(session, network)
            for question_id, value, stamp, error in [
                ("clean", True, "yesterday", InvalidHlc),
                ("clean", True, f"{10**14}:0:a", InvalidHlc),
                ("nope", True, hlc(0), UnknownQuestion),
                ("facings", 101, hlc(0), InvalidAnswer),
            ]:
                with pytest.raises(error):
                    await answer_question(
                        session,
                        inspector,
                        inspection_id=inspection.id,
                        question_id=question_id,
                        value=value,
                        hlc=stamp,
                    )

    async def scenario_other_distributor_cannot_answer_or_submit(self, session_factory, network):
        async with session_factory() as session:
            _t, inspection, _inspector = await _setup(session, network)
            south = actor(network, "dist-south")
            with pytest.raises(InspectionNotFound):
                await answer_question(
                    session, south, inspection_id=inspection.id, question_id="clean", value=True, hlc=hlc(0)
                )
            with pytest.raises(InspectionNotFound):
                await submit_inspection(session, south, inspection_id=inspection.id)
            with pytest.raises(PermissionDenied):
                await submit_inspection(session, actor(network, "supplier-a"), inspection_id=inspection.id)

    async def test_last_writer_wins(self, session_factory, network):
        # One seeded network for the whole use case; each scenario uses its own rows.
        for scenario in (
            self.scenario_later_stamp_wins_and_earlier_is_ignored,
            self.scenario_every_arrival_order_converges,
            self.scenario_bad_answers_are_refused,
            self.scenario_other_distributor_cannot_answer_or_submit,
        ):
            await scenario(session_factory, network)
