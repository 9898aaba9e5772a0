"""Photo questions end to end: tus uploads, attachment at submission, evidence log, photo visibility."""

from __future__ import annotations

import hashlib

from tests.factories import auth_headers
from tests.inspections.test_inspections import QUESTIONS, hlc
from tests.inventory.helpers import terminal_of
from tests.media.helpers import upload_photo
from tests.media.images import photo

PHOTO_Q = {"id": "shelf", "kind": "photo", "text": "Shelf photos", "min_count": 2, "weight": 2}


async def test_photos_are_attached_at_submission_and_logged_as_evidence(client, network):
    north = await auth_headers(client, "dist-north")
    inspector = await auth_headers(client, "inspector-north", client_id="inspector-phone")
    shots = [photo(31), photo(32)]
    hashes = [hashlib.sha256(s).hexdigest() for s in shots]
    for shot in shots:
        assert (await upload_photo(client, inspector, shot)).status_code == 201
    never_uploaded = "f" * 64

    template = (
        await client.post(
            "/inspection-templates",
            json={
                "owner_id": network.org("dist-00").id,
                "title": "Photo audit",
                "questions": [*QUESTIONS, PHOTO_Q],
            },
            headers=north,
        )
    ).json()
    shop = terminal_of(network, "dist-00")
    inspection = (
        await client.post(
            "/inspections", json={"terminal_id": shop.id, "template_id": template["id"]}, headers=inspector
        )
    ).json()
    base = f"/inspections/{inspection['id']}"
    for qid, value in (
        ("clean", True),
        ("facings", 5),
        ("placement", "eye"),
        ("shelf", [*hashes, never_uploaded]),
    ):
        r = await client.put(f"{base}/answers/{qid}", json={"value": value, "hlc": hlc(1)}, headers=inspector)
        assert r.status_code == 200, r.text

    missing = await client.post(f"{base}/submit", headers=inspector)
    assert missing.status_code == 422 and missing.json()["code"] == "photos_missing"
    assert missing.json()["details"]["missing"] == [never_uploaded]

    r = await client.put(f"{base}/answers/shelf", json={"value": hashes, "hlc": hlc(2)}, headers=inspector)
    assert r.json()["value"] == hashes
    done = await client.post(f"{base}/submit", headers=inspector)
    assert done.status_code == 200, done.text
    assert done.json()["score_pct"] == 100.0

    proof = await client.get(f"/evidence/inspection/{inspection['id']}/proof", headers=north)
    assert proof.status_code == 200, proof.text
    (entry,) = proof.json()["entries"]
    assert sorted(entry["photo_hashes"]) == sorted(hashes)
    assert entry["document"]["template_id"] == template["id"]
    assert {a["question_id"] for a in entry["document"]["answers"]} == {
        "clean",
        "facings",
        "placement",
        "shelf",
    }

    # the terminal's distributor sees the photos; another distributor and supplier do not
    assert (await client.get(f"/media/photos/{hashes[0]}", headers=north)).status_code == 200
    for outsider in ("dist-south", "supplier-b"):
        headers = await auth_headers(client, outsider, client_id=f"{outsider}-phone")
        assert (await client.get(f"/media/photos/{hashes[0]}", headers=headers)).status_code == 404
        assert (
            await client.get(f"/evidence/inspection/{inspection['id']}/proof", headers=headers)
        ).status_code == 404
