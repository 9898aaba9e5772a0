"""Sync jobs: change-log compaction past the horizon, pruning of old stored push results."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.changefeed.compaction import compact
from backend.config import Settings
from backend.db import utcnow
from backend.syncstate import prune_results
from workers.spec import JobSpec

#: Chunks a single run of ``prune_push_results`` deletes at most (5,000 rows each).
PRUNE_CHUNKS_PER_RUN = 20


async def compact_change_log(factory: async_sessionmaker[AsyncSession], settings: Settings) -> dict:
    """Drop history older than ``sync_compaction_horizon_s``; older cursors get a resync."""
    async with factory() as session:
        deleted, horizon = await compact(
            session, utcnow() - timedelta(seconds=settings.sync_compaction_horizon_s)
        )
        await session.commit()
    return {"deleted": deleted, "horizon": horizon}


async def prune_push_results(factory: async_sessionmaker[AsyncSession], settings: Settings) -> dict:
    """Delete stored push results older than ``sync_result_retention_s``, one short transaction a
    chunk so pushes are never held up for long."""
    older_than = utcnow() - timedelta(seconds=settings.sync_result_retention_s)
    deleted = 0
    for _ in range(PRUNE_CHUNKS_PER_RUN):
        async with factory() as session:
            count = await prune_results(session, older_than)
            await session.commit()
        deleted += count
        if count == 0:
            break
    return {"deleted": deleted}


JOBS: list[JobSpec] = [
    JobSpec("compact_change_log", compact_change_log, 3600),
    JobSpec("prune_push_results", prune_push_results, 3600),
]
