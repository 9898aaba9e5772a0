"""The APScheduler set-up: which jobs run, how often, on which database."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import utcnow
from backend.jobstate import lease_ttl_s
from backend.jobstate import service as leases
from workers.jobs import housekeeping, media_jobs, messaging_jobs, sync_jobs, visits_jobs
from workers.spec import JobSpec

log = logging.getLogger("fieldsync.worker")

#: Who holds a lease: this host and process (and a nonce, should a pid be reused after a crash).
HOLDER = f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"
#: Runs in progress in this process (a stopping worker lets them finish).
RUNNING: set[asyncio.Task[None]] = set()


async def wait_for_running(timeout_s: float) -> int:
    """Wait up to ``timeout_s`` for the runs in progress; how many were still running after it."""
    if not RUNNING:
        return 0
    _done, pending = await asyncio.wait(set(RUNNING), timeout=timeout_s)
    return len(pending)


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
            # first at start-up (a restarted worker picks up what is due; the lease says whether
            # it is), a little spread so workers started together do not all ask at once
            next_run_time=datetime.now(UTC) + timedelta(seconds=random.uniform(0.5, 1.5)),
            id=spec.name,
            name=spec.name,
        )
    return scheduler


def _guarded(
    spec: JobSpec, factory: async_sessionmaker[AsyncSession], settings: Settings
) -> Callable[[], Awaitable[None]]:
    """One firing of ``spec``: take its lease (exclusive jobs), run it while keeping the lease,
    record the outcome. A failing job is logged and runs again at its next interval."""

    async def run() -> None:
        task = asyncio.current_task()
        if task is not None:
            RUNNING.add(task)
            task.add_done_callback(RUNNING.discard)
        started, run_id = utcnow(), None
        if spec.exclusive:
            try:
                run_id = await leases.take(factory, spec.name, spec.every_s, HOLDER)
            except Exception:
                log.exception("job %s: could not ask for its lease; trying at the next interval", spec.name)
                return
            if run_id is None:
                return  # another worker runs it this interval
        keeper = asyncio.create_task(_keep_lease(spec, factory)) if spec.exclusive else None
        error = None
        try:
            result = await spec.func(factory, settings)
            log.debug("job %s done: %s", spec.name, result)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.exception("job %s failed; it runs again at its next interval", spec.name)
        finally:
            if keeper is not None:
                keeper.cancel()
        try:
            await leases.finish(factory, spec.name, HOLDER, run_id, started=started, error=error)
        except Exception:
            log.exception("job %s: could not record its outcome (its lease lapses by itself)", spec.name)

    return run


async def _keep_lease(spec: JobSpec, factory: async_sessionmaker[AsyncSession]) -> None:
    """Extend the lease every quarter of its length while the job runs."""
    while True:
        await asyncio.sleep(lease_ttl_s(spec.every_s) / 4)
        try:
            if not await leases.renew(factory, spec.name, spec.every_s, HOLDER):
                log.warning("job %s: its lease lapsed while it ran (another worker may take it)", spec.name)
                return
        except Exception:
            log.exception("job %s: could not extend its lease", spec.name)
