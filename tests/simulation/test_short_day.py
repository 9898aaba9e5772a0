"""A short day in the field: ten phones against a real server process, on SQLite and PostgreSQL.

Phones drop out of signal (also half-way through a photo's chunk), lose replies after the server
committed (so they retry), and come back; at the end every phone must hold exactly the server's
view, no queued mutation may be lost, the server must have recorded each acknowledged mutation
once, with the outcome the phone was told, and every photo a phone attached must be stored with
the bytes the phone took.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.media.models import MediaAttachment
from backend.syncstate import SyncMutation
from fieldsync.simulation.fleet import seed_fleet_users
from fieldsync.simulation.phone import Habits
from fieldsync.simulation.run import SimulationConfig, simulate
from fieldsync.simulation.server import ServerProcess
from tests.factories import build_network

PHONES = 10


async def test_a_short_day_converges_and_loses_nothing(
    db_url: str, tmp_path: Path, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        await build_network(session)
        await session.flush()
        await seed_fleet_users(session, PHONES)  # one cheap shared hash instead of one per user
        await session.commit()
    habits = Habits(
        think_s=0.15,
        offline_chance=0.15,
        offline_s=(0.2, 1.0),
        lost_reply_chance=0.1,
        dropped_chunk_chance=0.25,
        min_actions=6,  # however loaded the machine, every phone does a few things
    )
    # shop visits (each with a photo) are a good part of the reps' and inspectors' day here
    weights = {"inspect a shop, with photos": 10}
    with ServerProcess(db_url, tmp_path / "server") as server:
        report = await simulate(
            SimulationConfig(
                url=server.url, phones=PHONES, seconds=3.0, seed=3, habits=habits, weights=weights
            ),
            progress=None,
        )
        log = server.log_tail()
    assert report.ok, report.render() + "\n--- server log ---\n" + log
    assert report.tally.statuses["applied"] > 0, report.render()
    # 503 (busy, with Retry-After) is the server saying "again later", which phones do; any other
    # 5xx is a bug.
    server_errors = [e for e in report.tally.errors if e.startswith("HTTP 5") and e[:8] != "HTTP 503"]
    assert not server_errors, report.render() + log

    async with session_factory() as session:
        stored = {
            (r.client_id, r.mutation_id): r.status
            for r in (await session.execute(select(SyncMutation))).scalars()
            if r.client_id.startswith("sim-")
        }
        attached = {a.sha256 for a in (await session.execute(select(MediaAttachment))).scalars()}
    told = {
        (client_id, mutation_id): status
        for (_user, client_id), acks in report.acknowledged.items()
        for mutation_id, status in acks.items()
    }
    assert told == stored

    # The photo path: inspections submitted with photos uploaded over tus (some resumed after a
    # connection dropped mid-chunk) and attached; each stored original hashes to its name.
    photos = report.photos()
    assert photos["inspections submitted"] > 0 and photos["attachments applied"] > 0, report.render()
    # every dropped upload resumed (HEAD) later; a transient 503 mid-upload also resumes
    assert photos["resumed"] >= photos["connections dropped mid-chunk"] > 0, report.render()
    assert report.photo_check.verified_hashes and report.photo_check.verified_hashes <= attached
    originals = tmp_path / "server" / "var" / "media" / "originals"
    for sha256 in attached:
        assert hashlib.sha256((originals / sha256[:2] / sha256).read_bytes()).hexdigest() == sha256
