"""The APScheduler set-up: which jobs run, how often, on which database."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from workers.jobs import housekeeping, media_jobs, messaging_jobs, sync_jobs, visits_jobs
from workers.spec import JobSpec

log = logging.getLogger("fieldsync.worker")

JOBS: list[JobSpec] = [
    JobSpec("purge_expired_refresh_tokens", housekeeping.purge_expired_refresh_tokens, 3600),
    *media_jobs.JOBS,
    *messaging_jobs.JOBS,
    *sync_jobs.JOBS,
    *visits_jobs.JOBS,
]


def register(spec: JobSpec) -> None:
    """Add a job to the schedule (domain issues add theirs here)."""
    JOBS.append(spec)


def build_scheduler(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
    )
    for spec in JOBS:
        scheduler.add_job(
            _guarded(spec, session_factory, settings),
            "interval",
            seconds=spec.every_s,
            id=spec.name,
            name=spec.name,
        )
    return scheduler


def _guarded(
    spec: JobSpec, factory: async_sessionmaker[AsyncSession], settings: Settings
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            result = await spec.func(factory, settings)
            log.debug("job %s done: %s", spec.name, result)
        except Exception:
            log.exception("job %s failed; it runs again at its next interval", spec.name)

    return run
