"""Field work from offline phones through the real sync endpoints: counts, a visit answered on two
phones (HLC last-writer-wins), submission freezing it, and what each phone pulls back."""

from __future__ import annotations

from backend.db import new_id
from tests.factories import auth_headers
from tests.inspections.test_inspections import QUESTIONS, hlc
from tests.inventory.helpers import at, terminal_of
from tests.sync.helpers import signed_in_phone, wait_for_watermark


def _entities(phone) -> dict[str, list]:
    found: dict[str, list] = {}
    for (_scope, entity, _id), (_v, data) in phone.rows().items():
        found.setdefault(entity, []).append(data)
    return found


async def test_offline_field_day(client, session_factory, network):
    north = await auth_headers(client, "dist-north")
    shop = terminal_of(network, "dist-00")
    field_user = network.user("field-north")
    assert (
        await client.post("/routes", json={"user_id": field_user.id, "terminal_id": shop.id}, headers=north)
    ).status_code == 201
    template = (
        await client.post(
            "/inspection-templates",
            json={"owner_id": network.org("dist-00").id, "title": "Visit", "questions": QUESTIONS},
            headers=north,
        )
    ).json()

    field = await signed_in_phone(client, "field-north")
    other = await signed_in_phone(client, "field-north", client_id="field-north-tablet")
    visit_id = new_id()
    count = field.mutate(
        "stock_check.record",
        {"id": new_id(), "org_id": shop.id, "product_id": network.products["A-00001"].id, "counted_qty": 7,
         "observed_at": at(0).isoformat()},
    )  # fmt: skip
    field.mutate("inspection.start", {"id": visit_id, "terminal_id": shop.id, "template_id": template["id"]})
    for qid, value, ms in (("clean", True, 10), ("facings", 6, 10), ("placement", "eye", 10)):
        field.mutate(
            "inspection.answer",
            {"inspection_id": visit_id, "question_id": qid, "value": value, "hlc": hlc(ms)},
        )
    await field.push_all()
    # the tablet answered "clean" offline too, but earlier by the clock: the phone's answer stands
    stale = other.mutate(
        "inspection.answer",
        {"inspection_id": visit_id, "question_id": "clean", "value": False, "hlc": hlc(5, node="tablet")},
    )
    await other.push_all()
    assert other.result(stale)["status"] == "applied"
    assert other.result(stale)["data"]["kept"] == "server"
    submit = field.mutate("inspection.submit", {"inspection_id": visit_id})
    late = field.mutate(
        "inspection.answer",
        {"inspection_id": visit_id, "question_id": "clean", "value": False, "hlc": hlc(99)},
    )
    await field.push_all()
    assert field.result(count)["status"] == "applied"
    assert field.result(submit)["status"] == "applied"
    assert field.result(late)["code"] == "inspection_frozen"
    assert field.result(late)["status"] in ("conflict", "rejected")

    await wait_for_watermark(session_factory)
    await field.pull()
    rows = _entities(field)
    (level,) = {r["id"]: r for r in rows["stock_level"] if r["terminal_id"] == shop.id}.values()
    assert level["counted_qty"] == 7
    (visit,) = {r["id"]: r for r in rows["inspection"]}.values()
    assert visit["status"] == "submitted" and visit["score_pct"] == 100.0
    answers = {r["question_id"]: r["value"] for r in rows["inspection_answer"]}
    assert answers == {"clean": True, "facings": 6, "placement": "eye"}
    assert any(r["id"] == template["id"] for r in rows["inspection_template"])

    south = await signed_in_phone(client, "dist-south")
    await south.pull()
    leaked = {e for e in _entities(south)} & {
        "stock_level",
        "inspection",
        "inspection_answer",
        "route_assignment",
    }
    assert leaked == set()
