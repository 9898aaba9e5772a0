"""Pruning: stored push results older than the retention go, each client's newest one stays.

A retried mutation is recognised by its ``seq`` (at or below the client's ``last_seq``) even
after its stored result is gone; it then comes back ``duplicate`` without the original
``code``/``data``. The newest result of every client is kept, so a pull's ``last_applied_seq``
(the highest stored seq below the watermark on PostgreSQL) never goes backwards.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.syncstate.models import SyncClient, SyncMutation


async def prune_results(session: AsyncSession, older_than: datetime, *, chunk: int = 5000) -> int:
    """Delete up to ``chunk`` results applied before ``older_than``, oldest first; returns how many."""
    newer_of_same_client = exists().where(
        and_(
            SyncClient.user_id == SyncMutation.user_id,
            SyncClient.client_id == SyncMutation.client_id,
            SyncClient.last_seq > SyncMutation.seq,
        )
    )
    # Oldest rows have the smallest ids: the primary key walk stops after ``chunk`` matches.
    doomed = (
        select(SyncMutation.id)
        .where(SyncMutation.applied_at < older_than, newer_of_same_client)
        .order_by(SyncMutation.id)
        .limit(chunk)
    )
    ids = list((await session.execute(doomed)).scalars())
    if not ids:
        return 0
    await session.execute(delete(SyncMutation).where(SyncMutation.id.in_(ids)))
    return len(ids)
