"""Compaction: drop change-log history older than a horizon, keeping what snapshots read.

Rows that ``scope_rows`` points at (the latest change of every live row) stay: snapshots are
served from them. Everything else at or before the horizon goes, and the horizon is recorded
so a cursor older than it is told to resync instead of silently missing a tombstone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.changefeed.models import ChangeLog, FeedHorizon, ScopeRow
from backend.changefeed.reading import pg_watermark
from backend.db import is_postgres, utcnow


async def compact(session: AsyncSession, older_than: datetime) -> tuple[int, tuple[int, int] | None]:
    """Compact changes made before ``older_than``; returns (rows deleted, horizon)."""
    query = select(ChangeLog.tx, ChangeLog.id).where(ChangeLog.changed_at < older_than)
    if is_postgres(session):
        # Only what every reader may already have read: below the oldest running transaction.
        query = query.where(ChangeLog.tx < await pg_watermark(session))
    else:
        # Keep the newest row: SQLite would reuse the largest rowid if it were deleted.
        top = (await session.execute(select(func.max(ChangeLog.id)))).scalar_one()
        query = query.where(ChangeLog.id < (top or 0))
    newest_first = query.order_by(ChangeLog.tx.desc(), ChangeLog.id.desc()).limit(1)
    newest = (await session.execute(newest_first)).first()
    if newest is None:
        return 0, await _current(session)
    horizon = (int(newest[0]), int(newest[1]))
    kept = select(ScopeRow.change_id)
    result = await session.execute(
        delete(ChangeLog).where(
            tuple_(ChangeLog.tx, ChangeLog.id) <= tuple_(*horizon), ChangeLog.id.not_in(kept)
        )
    )
    current = await session.get(FeedHorizon, 1, with_for_update=True)
    if current is None:
        session.add(FeedHorizon(id=1, tx=horizon[0], change_id=horizon[1], compacted_at=utcnow()))
    elif (current.tx, current.change_id) < horizon:
        current.tx, current.change_id, current.compacted_at = horizon[0], horizon[1], utcnow()
    await session.flush()
    return int(result.rowcount or 0), horizon


async def _current(session: AsyncSession) -> tuple[int, int] | None:
    row = await session.get(FeedHorizon, 1)
    return (row.tx, row.change_id) if row else None
