"""Concurrent appends (each in its own transaction) serialise into one consistent log."""

from __future__ import annotations

import asyncio

from backend.evidence import append_record
from backend.evidence.verify import verify_log
from backend.media.storage import LocalStorage


async def test_concurrent_appends_make_one_chain(session_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async def finalise(i: int) -> int:
        async with session_factory() as session:
            entry = await append_record(
                session, record_type="order", record_id=f"o{i}", document={"i": i}, photo_hashes=[]
            )
            await asyncio.sleep(0.01)  # hold the transaction open a little, as a real finalisation does
            await session.commit()
            return entry.index

    indices = await asyncio.gather(*(finalise(i) for i in range(12)))
    assert sorted(indices) == list(range(12))
    async with session_factory() as session:
        report = await verify_log(session, LocalStorage(tmp_path), None)
    assert report.ok and report.entries == 12, report.failure
