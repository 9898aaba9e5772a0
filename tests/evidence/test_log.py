"""The evidence log end to end: appends, proofs over HTTP, signed tree heads, offline verification."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from sqlalchemy import select, update

from backend.evidence import append_record, merkle
from backend.evidence.models import EvidenceEntry
from backend.evidence.signing import load_signing_key, public_key_bytes
from backend.evidence.verify import verify_log
from backend.identity import Actor, Organisation
from backend.media import attach
from backend.media.storage import open_storage, original_key
from tests.evidence.conftest import PROFILE, load_profile
from tests.factories import auth_headers
from tests.media.helpers import upload_photo
from tests.media.images import photo


async def log_profiles(session_factory, orgs: list[Organisation], hashes: dict[str, list[str]] | None = None):  # type: ignore[no-untyped-def]
    async with session_factory() as session:
        for org in orgs:
            document = await load_profile(session, org.id)
            await append_record(
                session,
                record_type=PROFILE,
                record_id=org.id,
                document=document,
                photo_hashes=(hashes or {}).get(org.id, []),
            )
        await session.commit()


async def test_inclusion_and_consistency_proofs_verify_against_signed_heads(
    client, network, session_factory
) -> None:  # type: ignore[no-untyped-def]
    north = network.user("dist-north").org_id
    orgs = sorted(network.orgs.values(), key=lambda o: (o.id != north, o.code))  # north's entry first
    await log_profiles(session_factory, orgs[:5])
    headers = await auth_headers(client, "dist-north")
    old_head = (await client.get("/evidence/tree-head", headers=headers)).json()
    assert old_head["tree_size"] == 5
    await log_profiles(session_factory, orgs[5:])

    response = await client.get(f"/evidence/{PROFILE}/{north}/proof", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    head = body["tree_head"]
    assert head["tree_size"] == len(orgs)
    public_key = bytes.fromhex(head["public_key"])
    signed = merkle.TreeHead(
        tree_size=head["tree_size"],
        root_hash=bytes.fromhex(head["root_hash"]),
        timestamp_ms=head["timestamp_ms"],
        signature=bytes.fromhex(head["signature"]),
    )
    assert merkle.verify_tree_head(signed, public_key)
    (entry,) = body["entries"]
    leaf = merkle.leaf_hash(entry["leaf"].encode())
    assert leaf.hex() == entry["leaf_hash"]
    proof = [bytes.fromhex(p) for p in entry["inclusion_proof"]]
    assert merkle.verify_inclusion(leaf, entry["index"], head["tree_size"], proof, signed.root_hash)
    assert (
        entry["document"]["code"]
        == network.orgs[next(c for c, o in network.orgs.items() if o.id == north)].code
    )

    # a proof against the older head the client already trusted
    older = await client.get(f"/evidence/{PROFILE}/{north}/proof", params={"tree_size": 5}, headers=headers)
    older_body = older.json()
    assert older_body["tree_head"]["root_hash"] == old_head["root_hash"]
    older_proof = [bytes.fromhex(p) for p in older_body["entries"][0]["inclusion_proof"]]
    assert merkle.verify_inclusion(leaf, 0, 5, older_proof, bytes.fromhex(old_head["root_hash"]))
    missing = await client.get(f"/evidence/{PROFILE}/{north}/proof", params={"tree_size": 7}, headers=headers)
    assert missing.status_code == 422 and missing.json()["code"] == "tree_head_not_found"

    consistency = await client.get("/evidence/consistency", params={"first": 5}, headers=headers)
    c = consistency.json()
    assert merkle.verify_consistency(
        5,
        c["second"],
        bytes.fromhex(old_head["root_hash"]),
        bytes.fromhex(c["tree_head"]["root_hash"]),
        [bytes.fromhex(p) for p in c["proof"]],
    )
    # isolation: another distributor gets nothing about north's record
    south = await auth_headers(client, "dist-south")
    denied = await client.get(f"/evidence/{PROFILE}/{north}/proof", headers=south)
    assert denied.status_code == 404 and denied.json()["code"] == "evidence_not_found"
    bad = await client.get("/evidence/consistency", params={"first": 99}, headers=headers)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_tree_size"


async def test_verify_catches_an_altered_record_photo_and_entry(
    client, network, session_factory, settings
) -> None:  # type: ignore[no-untyped-def]
    north_user = network.user("inspector-north")
    north = north_user.org_id
    data = photo(31)
    digest = hashlib.sha256(data).hexdigest()
    assert (
        await upload_photo(client, await auth_headers(client, "inspector-north"), data)
    ).status_code == 201
    actor = Actor(user_id=north_user.id, org_id=north, org_kind="distributor", role=north_user.role)
    async with session_factory() as session:
        await attach(session, actor, sha256=digest, record_type=PROFILE, record_id=north)
        await session.commit()
    orgs = sorted(network.orgs.values(), key=lambda o: o.code)
    await log_profiles(session_factory, orgs, {north: [digest]})
    index_of = {o.id: i for i, o in enumerate(orgs)}
    storage = open_storage(settings)
    public_key = public_key_bytes(load_signing_key(settings))
    async with session_factory() as session:
        from backend.evidence.service import sign_tree_head

        await sign_tree_head(session, settings)
        await session.commit()

    async def check():  # type: ignore[no-untyped-def]
        async with session_factory() as session:
            return await verify_log(session, storage, public_key)

    report = await check()
    assert report.ok, report.failure
    assert (report.entries, report.photos, report.heads_checked) == (len(orgs), 1, 1)

    # a photo named by a record but never uploaded is reported as pending, not as tampering
    pending = hashlib.sha256(b"not uploaded yet").hexdigest()
    async with session_factory() as session:
        await append_record(session, record_type="other", record_id="x", document={}, photo_hashes=[pending])
        await sign_tree_head(session, settings)
        await session.commit()
    report = await check()
    assert (
        report.ok and report.photos_pending == [(len(orgs), pending)] and report.unchecked_types == {"other"}
    )

    # 1. a record changed after it was logged
    victim = orgs[3]
    async with session_factory() as session:
        await session.execute(update(Organisation).where(Organisation.id == victim.id).values(name="Renamed"))
        await session.commit()
    report = await check()
    assert report.failure is not None and report.failure.index == 3
    assert "stored record differs" in report.failure.problem
    async with session_factory() as session:
        await session.execute(
            update(Organisation).where(Organisation.id == victim.id).values(name=victim.name)
        )
        await session.commit()
    assert (await check()).ok

    # 2. a photo's bytes changed in storage
    await storage.put(original_key(digest), data[:-10] + b"0123456789")
    report = await check()
    assert report.failure is not None and report.failure.index == index_of[north]
    assert f"photo {digest} was altered" in report.failure.problem
    await storage.put(original_key(digest), data)
    assert (await check()).ok

    # 3. an entry rewritten in the database (even with its leaf hash recomputed)
    async with session_factory() as session:
        entry = await session.get(EvidenceEntry, 5)
        original_document, original_leaf = entry.document, entry.leaf_hash
        entry.document = original_document.replace('"name":"', '"name":"X')
        await session.commit()
    report = await check()
    assert report.failure is not None and report.failure.index == 5
    assert "entry was altered" in report.failure.problem
    async with session_factory() as session:
        from backend.evidence.canonical import entry_leaf_bytes

        entry = await session.get(EvidenceEntry, 5)
        entry.leaf_hash = merkle.leaf_hash(entry_leaf_bytes(entry)).hex()
        await session.commit()
    report = await check()
    assert report.failure is not None and report.failure.index == 5
    async with session_factory() as session:
        entry = await session.get(EvidenceEntry, 5)
        entry.document, entry.leaf_hash = original_document, original_leaf
        await session.commit()
    assert (await check()).ok

    # 4. an entry removed from the end is caught by the signed tree head
    async with session_factory() as session:
        last = (
            await session.scalars(select(EvidenceEntry).order_by(EvidenceEntry.index.desc()).limit(1))
        ).one()
        await session.delete(last)
        await session.commit()
    report = await check()
    assert report.failure is not None and "were removed" in report.failure.problem


async def test_the_verify_command_exits_nonzero_naming_the_entry(network, session_factory, settings) -> None:  # type: ignore[no-untyped-def]
    orgs = sorted(network.orgs.values(), key=lambda o: o.code)[:3]
    await log_profiles(session_factory, orgs)
    env = {
        **os.environ,
        "FIELDSYNC_DATABASE_URL": settings.resolved_database_url,
        "FIELDSYNC_VAR_DIR": settings.var_dir,
        "FIELDSYNC_SECRET_KEY": settings.secret_key,
        "PYTHONPATH": os.getcwd(),
    }
    # the CLI imports the domain services; the test record type is registered by this snippet
    program = (
        "import tests.evidence.conftest, sys; from fieldsync.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    ok = subprocess.run(
        [sys.executable, "-c", program, "evidence", "verify"], env=env, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK: 3 entries")
    async with session_factory() as session:
        await session.execute(
            update(Organisation).where(Organisation.id == orgs[1].id).values(code="changed")
        )
        await session.commit()
    bad = subprocess.run(
        [sys.executable, "-c", program, "evidence", "verify"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert f"FAILED at entry 1 ({PROFILE}/{orgs[1].id})" in bad.stderr


def test_signing_key_from_setting_or_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import base64

    import pytest

    from backend.config import ConfigError, load_settings
    from backend.evidence.signing import KEY_FILE, key_id

    settings = load_settings({}, var_dir=str(tmp_path))
    first = key_id(load_signing_key(settings))
    assert key_id(load_signing_key(settings)) == first  # created once, then reused
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    seed = bytes(range(32))
    configured = load_settings(
        {}, var_dir=str(tmp_path), evidence_signing_key=base64.b64encode(seed).decode()
    )
    assert public_key_bytes(load_signing_key(configured)) != public_key_bytes(load_signing_key(settings))
    with pytest.raises(ConfigError):
        load_signing_key(load_settings({}, var_dir=str(tmp_path), evidence_signing_key="c2hvcnQ="))
