"""Compaction: history past the horizon goes; a cursor older than it resyncs from a snapshot."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from backend.catalog import PriceEntry
from backend.changefeed import ChangeLog, ScopeRow
from backend.db import utcnow
from tests.sync.helpers import server_view, wait_for_watermark
from workers.jobs.sync_jobs import JOBS, compact_change_log


async def _age_everything(session_factory, days=40):
    async with session_factory() as session:
        await session.execute(update(ChangeLog).values(changed_at=utcnow() - timedelta(days=days)))
        await session.commit()


async def test_compaction_keeps_snapshot_rows_and_old_cursors_resync(
    phone, network, session_factory, settings
):
    assert "compact_change_log" in [j.name for j in JOBS]
    field, fresh_later = await phone("field-north"), await phone("field-north", client_id="tablet")
    await field.pull()
    dist = network.user("field-north").org_id
    async with session_factory() as session:
        prices = (
            await session.execute(select(PriceEntry).where(PriceEntry.distributor_id == dist).limit(5))
        ).scalars()
        for n, price in enumerate(prices):
            price.price_minor += 1
            if n == 0:
                await session.delete(price)
        await session.commit()
    await _age_everything(session_factory)
    await wait_for_watermark(session_factory)
    async with session_factory() as session:
        before = (await session.execute(select(func.count()).select_from(ChangeLog))).scalar_one()
    outcome = await compact_change_log(session_factory, settings)
    async with session_factory() as session:
        after = (await session.execute(select(func.count()).select_from(ChangeLog))).scalar_one()
        referenced = (await session.execute(select(func.count()).select_from(ScopeRow))).scalar_one()
    assert outcome["deleted"] == before - after > 0
    assert after >= referenced  # every row a snapshot reads survives

    stats = await field.pull(limit=10)
    assert f"org:{dist}" in stats.resync_required
    assert stats.pages > 2
    view = await server_view(session_factory, network.user("field-north").id)
    assert field.rows() == view
    await fresh_later.pull(limit=10)
    assert fresh_later.rows() == view
    # Nothing older is left to compact: a second run is a no-op with the same horizon.
    again = await compact_change_log(session_factory, settings)
    assert again["deleted"] == 0


async def test_recent_history_is_kept(network, session_factory, settings):
    async with session_factory() as session:
        before = (await session.execute(select(func.count()).select_from(ChangeLog))).scalar_one()
    outcome = await compact_change_log(session_factory, settings)
    assert outcome["deleted"] == 0
    async with session_factory() as session:
        assert (await session.execute(select(func.count()).select_from(ChangeLog))).scalar_one() == before
