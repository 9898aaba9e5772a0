"""Demo inspections: a supplier's shelf standard and a distributor's visit checklist (revised once),
routes for the north field team, and visits at shops of every distributor."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.demo_network import DemoNetwork
from backend.inspections.hlc import format_hlc
from backend.inspections.models import InspectionTemplate
from backend.inspections.service import (
    answer_question,
    create_template,
    revise_template,
    start_inspection,
    submit_inspection,
)
from backend.territory import demo as territory_demo
from backend.territory.demo import demo_actor, terminals_of

SUPPLIER_STANDARD = [
    {"id": "listed", "kind": "yes_no", "text": "Are all listed SKUs on the shelf?", "weight": 3},
    {
        "id": "facings",
        "kind": "number",
        "text": "Facings of the hero SKU",
        "min": 0,
        "max": 50,
        "pass_min": 4,
        "weight": 2,
    },
    {
        "id": "placement",
        "kind": "single_choice",
        "text": "Shelf placement",
        "options": ["eye level", "top", "bottom", "not on shelf"],
        "scores": {"eye level": 1, "top": 0.5, "bottom": 0.3},
        "weight": 3,
    },
    {
        "id": "pos",
        "kind": "multi_choice",
        "text": "Point-of-sale material",
        "options": ["poster", "wobbler", "fridge sticker"],
        "scores": {"poster": 0.5, "wobbler": 0.3, "fridge sticker": 0.2},
        "required": False,
    },
    {
        "id": "shelf_photo",
        "kind": "photo",
        "text": "Photo of the shelf",
        "min_count": 1,
        "required": False,
        "weight": 0,
    },
    {"id": "notes", "kind": "text", "text": "Notes", "required": False},
]
VISIT_V1 = [
    {"id": "open", "kind": "yes_no", "text": "Shop open during visit?", "weight": 1},
    {"id": "clean", "kind": "yes_no", "text": "Display area clean?", "weight": 2},
    {
        "id": "stockouts",
        "kind": "number",
        "text": "SKUs out of stock",
        "min": 0,
        "max": 500,
        "pass_max": 2,
        "weight": 3,
    },
]
VISIT_V2 = [
    *VISIT_V1,
    {
        "id": "fridge_temp",
        "kind": "number",
        "text": "Fridge temperature (°C)",
        "min": -30,
        "max": 30,
        "pass_min": 1,
        "pass_max": 6,
        "weight": 2,
    },
]
VISITS_PER_DISTRIBUTOR = 6


def _answer_for(rng, question: dict) -> object:
    kind = question["kind"]
    if kind == "yes_no":
        return rng.random() < 0.8
    if kind == "number":
        return rng.randint(int(question.get("min") or 0), int(min(question.get("max") or 20, 20)))
    if kind == "single_choice":
        return rng.choice(question["options"])
    if kind == "multi_choice":
        return rng.sample(question["options"], rng.randint(0, len(question["options"])))
    return "Spoke to the owner."


async def seed(session: AsyncSession, net: DemoNetwork) -> None:
    """Add this domain's demo rows to session (the caller commits)."""
    await territory_demo.seed(session, net)
    net.progress("inspections")
    rng = net.rng
    standard = await create_template(
        session,
        demo_actor(net, "supplier-a"),
        owner_id=net.suppliers[0].id,
        title="Supplier A shelf standard",
        questions=SUPPLIER_STANDARD,
    )
    north = demo_actor(net, "dist-north")
    visit_v1 = await create_template(
        session, north, owner_id=net.distributors[0].id, title="Store visit", questions=VISIT_V1
    )
    started_on_v1 = terminals_of(net, net.distributors[0].id)[0]
    field = demo_actor(net, "field-north")
    # A visit started on version 1 before the checklist was revised keeps version 1.
    await start_inspection(
        session, field, inspection_id=None, terminal_id=started_on_v1.id, template_id=visit_v1.id
    )
    visit_v2 = await revise_template(session, north, template_id=visit_v1.id, questions=VISIT_V2)
    admin = demo_actor(net, "admin")
    node = 0
    for d_index, distributor in enumerate(net.distributors):
        shops = terminals_of(net, distributor.id)
        who = field if d_index == 0 else admin
        for n, shop in enumerate(shops[1 : 1 + VISITS_PER_DISTRIBUTOR]):
            template: InspectionTemplate = visit_v2 if d_index == 0 and n % 2 else standard
            inspection = await start_inspection(
                session, who, inspection_id=None, terminal_id=shop.id, template_id=template.id
            )
            node += 1
            wall = int((utcnow() - timedelta(days=rng.randrange(1, 25))).timestamp() * 1000)
            for i, question in enumerate(template.questions):
                if question["kind"] == "photo" or (not question["required"] and rng.random() < 0.4):
                    continue
                await answer_question(
                    session,
                    who,
                    inspection_id=inspection.id,
                    question_id=question["id"],
                    value=_answer_for(rng, question),
                    hlc=format_hlc(wall + i, 0, f"demo-{node}"),
                )
            if n < VISITS_PER_DISTRIBUTOR - 1:  # the last one stays in progress
                await submit_inspection(session, who, inspection_id=inspection.id)
