"""Inspections over REST: templates and versions, a visit end to end, isolation, error shapes."""

from __future__ import annotations

from backend.db import new_id
from tests.factories import auth_headers
from tests.inspections.test_inspections import QUESTIONS, hlc
from tests.inventory.helpers import terminal_of


async def test_inspection_visit_over_rest(client, network):
    north = await auth_headers(client, "dist-north")
    inspector = await auth_headers(client, "inspector-north", client_id="inspector-phone")
    south = await auth_headers(client, "dist-south", client_id="south-phone")
    shop = terminal_of(network, "dist-00")

    created = await client.post(
        "/inspection-templates",
        json={"owner_id": network.org("dist-00").id, "title": "Shelf audit", "questions": QUESTIONS},
        headers=north,
    )
    assert created.status_code == 201, created.text
    v1 = created.json()
    inspection_id = new_id()
    started = await client.post(
        "/inspections",
        json={"id": inspection_id, "terminal_id": shop.id, "template_id": v1["id"]},
        headers=inspector,
    )
    assert started.status_code == 201, started.text
    revised = await client.post(
        f"/inspection-templates/{v1['id']}/revisions",
        json={"questions": [{"id": "only", "kind": "yes_no", "text": "Only?"}]},
        headers=north,
    )
    assert revised.status_code == 201 and revised.json()["version_no"] == 2
    listed = (await client.get("/inspection-templates", headers=north)).json()["items"]
    assert [t["id"] for t in listed] == [revised.json()["id"]]
    every = (await client.get("/inspection-templates", params={"all_versions": "true"}, headers=north)).json()
    assert len(every["items"]) == 2

    for qid, value in (("clean", True), ("facings", 5), ("placement", "eye")):
        r = await client.put(
            f"/inspections/{inspection_id}/answers/{qid}",
            json={"value": value, "hlc": hlc(10)},
            headers=inspector,
        )
        assert r.status_code == 200, r.text
    stale = await client.put(
        f"/inspections/{inspection_id}/answers/clean", json={"value": False, "hlc": hlc(5)}, headers=inspector
    )
    assert stale.json()["value"] is True and stale.json()["hlc"] == hlc(10)

    denied = await client.post(f"/inspections/{inspection_id}/submit", headers=south)
    assert denied.status_code == 404 and denied.json()["code"] == "inspection_not_found"
    submitted = await client.post(f"/inspections/{inspection_id}/submit", headers=inspector)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted" and submitted.json()["score_pct"] == 100.0
    frozen = await client.put(
        f"/inspections/{inspection_id}/answers/clean",
        json={"value": False, "hlc": hlc(99)},
        headers=inspector,
    )
    assert frozen.status_code == 409 and frozen.json()["code"] == "inspection_frozen"

    detail = (await client.get(f"/inspections/{inspection_id}", headers=north)).json()
    assert detail["template_id"] == v1["id"] and len(detail["answers"]) == 3
    assert (await client.get("/inspections", params={"status": "submitted"}, headers=north)).json()["items"]
    assert (await client.get("/inspections", headers=south)).json()["items"] == []
    assert (await client.get(f"/inspections/{inspection_id}", headers=south)).status_code == 404
    assert (await client.get(f"/inspection-templates/{v1['id']}", headers=south)).status_code == 404
    supplier = await auth_headers(client, "supplier-a", client_id="sup-phone")
    assert (await client.get("/inspections", headers=supplier)).json()["items"] == []


async def test_bad_inspection_requests(client, network):
    north = await auth_headers(client, "dist-north")
    owner = network.org("dist-00").id
    bad_templates = [
        ({"owner_id": owner, "title": "t", "questions": []}, 400, "invalid_request"),
        ({"owner_id": owner, "title": "t", "questions": [{"id": "a", "kind": "rating", "text": "?"}]}, 422,
         "invalid_template"),
        ({"owner_id": owner, "title": "", "questions": QUESTIONS}, 400, "invalid_request"),
        ({"owner_id": new_id(), "title": "t", "questions": QUESTIONS}, 404, "organisation_not_found"),
    ]  # fmt: skip
    for body, status, code in bad_templates:
        r = await client.post("/inspection-templates", json=body, headers=north)
        assert (r.status_code, r.json()["code"]) == (status, code), (body, r.text)
    template = (
        await client.post(
            "/inspection-templates",
            json={"owner_id": owner, "title": "t", "questions": QUESTIONS},
            headers=north,
        )
    ).json()
    shop = terminal_of(network, "dist-00")
    inspection = (
        await client.post(
            "/inspections", json={"terminal_id": shop.id, "template_id": template["id"]}, headers=north
        )
    ).json()
    answer_url = f"/inspections/{inspection['id']}/answers"
    cases = [
        ("clean", {"value": "yes", "hlc": hlc(1)}, 422, "invalid_answer"),
        ("clean", {"value": True, "hlc": "tuesday"}, 422, "invalid_hlc"),
        ("ghost", {"value": True, "hlc": hlc(1)}, 422, "unknown_question"),
        ("clean", {"value": True}, 400, "invalid_request"),
    ]
    for qid, body, status, code in cases:
        r = await client.put(f"{answer_url}/{qid}", json=body, headers=north)
        assert (r.status_code, r.json()["code"]) == (status, code), (qid, body, r.text)
    incomplete = await client.post(f"/inspections/{inspection['id']}/submit", headers=north)
    assert incomplete.status_code == 422 and incomplete.json()["code"] == "inspection_incomplete"
    assert incomplete.json()["details"]["unanswered"] == ["clean", "facings", "placement"]
    r = await client.get("/inspections", params={"status": "lost"}, headers=north)
    assert r.status_code == 400
