"""Issue 17 jobs: each rep's planned visits for the coming days; replenishment suggestions."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.forecasting import compute_suggestions
from backend.visits import plan_visits
from workers.spec import JobSpec


async def plan_coming_visits(factory: async_sessionmaker[AsyncSession], settings: Settings) -> dict:
    """Add the visits every active rule asks for in the next ``visit_plan_days`` local days."""
    async with factory() as session, session.begin():
        added = await plan_visits(session, days=settings.visit_plan_days)
    return {"added": added}


JOBS: list[JobSpec] = [JobSpec("plan_visits", plan_coming_visits, 3600)]


async def compute_replenishment(factory: async_sessionmaker[AsyncSession], settings: Settings) -> dict:
    """Recompute every warehouse × SKU and shelf × SKU suggestion from the latest sell-through."""
    async with factory() as session, session.begin():
        changed = await compute_suggestions(
            session,
            service_level=settings.replenishment_service_level,
            review_days=settings.replenishment_review_days,
        )
    return {"changed": changed}


JOBS.append(JobSpec("compute_replenishment", compute_replenishment, 3600))
