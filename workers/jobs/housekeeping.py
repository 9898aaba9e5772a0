"""Small housekeeping jobs."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import utcnow
from backend.identity import RefreshToken


async def purge_expired_refresh_tokens(factory: async_sessionmaker[AsyncSession], _settings: Settings) -> int:
    """Delete refresh tokens past their expiry; they can never be used again."""
    async with factory() as session, session.begin():
        result = await session.execute(delete(RefreshToken).where(RefreshToken.expires_at < utcnow()))
        return int(result.rowcount or 0)
