"""A record type for evidence tests: an organisation's profile, visible to its own members."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.evidence import register_record_source
from backend.identity import Actor, Organisation
from backend.media import register_record_type

PROFILE = "test_org_profile"


async def load_profile(session: AsyncSession, record_id: str) -> dict[str, Any] | None:
    org = await session.get(Organisation, record_id, populate_existing=True)
    return None if org is None else {"name": org.name, "code": org.code}


async def can_view_profile(session: AsyncSession, actor: Actor, record_id: str) -> bool:
    return actor.org_id == record_id


register_record_type(PROFILE, can_view_profile)
register_record_source(PROFILE, load_profile)
