"""An inspection with photos, end to end: upload, attach, submit, prove, serve, verify, tamper."""

from __future__ import annotations

import hashlib

from sqlalchemy import update

from backend.evidence.verify import verify_log
from backend.inspections import answer_question, submit_inspection
from backend.inspections.models import InspectionAnswer
from backend.media import attach
from backend.media.storage import open_storage
from tests.factories import auth_headers
from tests.inspections.test_inspections import PHOTO_Q, QUESTIONS, _answer_all, _setup, hlc
from tests.media.helpers import upload_photo
from tests.media.images import photo


async def test_a_submitted_inspection_is_logged_with_its_photos(
    client, network, session_factory, settings
) -> None:  # type: ignore[no-untyped-def]
    inspector_headers = await auth_headers(client, "inspector-north")
    shots = [photo(51), photo(52), photo(53)]
    hashes = [hashlib.sha256(s).hexdigest() for s in shots]
    for shot in shots:
        assert (await upload_photo(client, inspector_headers, shot)).status_code == 201

    async with session_factory() as session:
        _template, inspection, inspector = await _setup(session, network, questions=[*QUESTIONS, PHOTO_Q])
        await _answer_all(session, inspector, inspection.id)
        await answer_question(
            session,
            inspector,
            inspection_id=inspection.id,
            question_id="shelf_photo",
            value=hashes[:2],
            hlc=hlc(1),
        )
        for sha256 in hashes[:2]:
            await attach(session, inspector, sha256=sha256, record_type="inspection", record_id=inspection.id)
        await submit_inspection(session, inspector, inspection_id=inspection.id)
        # a photo taken at the visit that arrives after the submission
        await attach(session, inspector, sha256=hashes[2], record_type="inspection", record_id=inspection.id)
        await session.commit()

    north, south = await auth_headers(client, "dist-north"), await auth_headers(client, "dist-south")
    proof = await client.get(f"/evidence/inspection/{inspection.id}/proof", headers=north)
    assert proof.status_code == 200, proof.text
    entries = proof.json()["entries"]
    assert [(e["kind"], e["photo_hashes"]) for e in entries] == [
        ("record", sorted(hashes[:2])),
        ("supplement", [hashes[2]]),
    ]
    assert entries[0]["document"]["inspection_id"] == inspection.id
    assert (await client.get(f"/evidence/inspection/{inspection.id}/proof", headers=south)).status_code == 404
    # the distributor that owns the visited terminal sees the photos; another distributor does not
    assert (await client.get(f"/media/photos/{hashes[2]}/original", headers=north)).status_code == 200
    assert (await client.get(f"/media/photos/{hashes[2]}/original", headers=south)).status_code == 404

    async def verify():  # type: ignore[no-untyped-def]
        async with session_factory() as session:
            return await verify_log(session, open_storage(settings), None)

    report = await verify()
    assert report.ok and report.records_checked == 2 and report.photos == 3, report.failure
    async with session_factory() as session:  # change a frozen answer behind the service's back
        await session.execute(
            update(InspectionAnswer)
            .where(InspectionAnswer.inspection_id == inspection.id, InspectionAnswer.question_id == "facings")
            .values(value=99)
        )
        await session.commit()
    report = await verify()
    assert report.failure is not None and report.failure.index == entries[0]["index"]
    assert report.failure.record == f"inspection/{inspection.id}"
    assert "stored record differs" in report.failure.problem
