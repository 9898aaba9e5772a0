"""Sync jobs: change-log compaction past the horizon (issue 8)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.changefeed.compaction import compact
from backend.config import Settings
from backend.db import utcnow
from workers.spec import JobSpec


async def compact_change_log(factory: async_sessionmaker[AsyncSession], settings: Settings) -> dict:
    """Drop history older than ``sync_compaction_horizon_s``; older cursors get a resync."""
    async with factory() as session:
        deleted, horizon = await compact(
            session, utcnow() - timedelta(seconds=settings.sync_compaction_horizon_s)
        )
        await session.commit()
    return {"deleted": deleted, "horizon": horizon}


JOBS: list[JobSpec] = [JobSpec("compact_change_log", compact_change_log, 3600)]
