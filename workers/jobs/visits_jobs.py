"""Visit jobs: each rep's planned visits for the coming days (issue 17)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.visits import plan_visits
from workers.spec import JobSpec


async def plan_coming_visits(factory: async_sessionmaker[AsyncSession], settings: Settings) -> dict:
    """Add the visits every active rule asks for in the next ``visit_plan_days`` local days."""
    async with factory() as session, session.begin():
        added = await plan_visits(session, days=settings.visit_plan_days)
    return {"added": added}


JOBS: list[JobSpec] = [JobSpec("plan_visits", plan_coming_visits, 3600)]
