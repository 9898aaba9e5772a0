"""Who has a live WebSocket, across API processes (chat pushes skip them)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.messaging.models import LiveConnection

#: A process refreshes its connections every ``HEARTBEAT_S``; older rows are a dead process's.
HEARTBEAT_S = 30
STALE_AFTER_S = 3 * HEARTBEAT_S


async def connected(session: AsyncSession, *, user_id: str, node_id: str) -> str:
    row = LiveConnection(user_id=user_id, node_id=node_id)
    session.add(row)
    await session.flush()
    return row.id


async def disconnected(session: AsyncSession, connection_id: str) -> None:
    await session.execute(delete(LiveConnection).where(LiveConnection.id == connection_id))


async def heartbeat(session: AsyncSession, node_id: str) -> None:
    """Keep this process's connections fresh and forget those of processes long gone."""
    now = utcnow()
    await session.execute(update(LiveConnection).where(LiveConnection.node_id == node_id).values(seen_at=now))
    await session.execute(
        delete(LiveConnection).where(LiveConnection.seen_at < now - timedelta(seconds=10 * STALE_AFTER_S))
    )


async def forget_node(session: AsyncSession, node_id: str) -> None:
    await session.execute(delete(LiveConnection).where(LiveConnection.node_id == node_id))


async def online_users(session: AsyncSession, user_ids: Iterable[str]) -> set[str]:
    """Those of ``user_ids`` with a live connection somewhere."""
    ids = list(set(user_ids))
    if not ids:
        return set()
    horizon = utcnow() - timedelta(seconds=STALE_AFTER_S)
    rows = await session.execute(
        select(LiveConnection.user_id)
        .where(LiveConnection.user_id.in_(ids), LiveConnection.seen_at >= horizon)
        .distinct()
    )
    return set(rows.scalars())
