"""Taking, keeping and giving back a job's lease, in short transactions of their own.

A job runs once per interval across every worker: when its scheduler fires, a worker runs it
only if one ``UPDATE`` takes the lease — the lease has lapsed (nobody runs it) and at least the
interval (less a small slack for timer jitter) has passed since the last start. While it runs,
the holder extends the lease every quarter of its length; a worker that dies mid-run stops doing
so, the lease lapses, and the next worker whose timer fires after that takes the job over.

Times are the workers' clocks (keep them in NTP sync, as for any cluster).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import utcnow
from backend.jobstate.models import JobLease, JobRun

#: A lease is at least this long. A holder stalled past its lease (a starved event loop, a slow
#: database) could see its job taken while it still runs; on a loaded 2-core machine 6 s was not
#: enough (tests/deploy saw it), so a 2-second job's dead holder is replaced within 20 s instead.
MIN_LEASE_S = 20.0
#: Runs kept in ``job_runs``.
HISTORY = timedelta(hours=1)

Factory = async_sessionmaker[AsyncSession]


def lease_ttl_s(every_s: float) -> float:
    """How long a lease lasts without being renewed: the interval, and at least ``MIN_LEASE_S``."""
    return max(float(every_s), MIN_LEASE_S)


def _slack_s(every_s: float) -> float:
    return min(every_s * 0.1, 5.0)


async def _ensure_row(session: AsyncSession, name: str) -> None:
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    await session.execute(
        dialect.insert(JobLease).values(name=name, runs=0, failures=0).on_conflict_do_nothing()
    )


async def take(factory: Factory, name: str, every_s: float, holder: str) -> int | None:
    """Take the lease of job ``name`` if it is due and free; the run's id in ``job_runs``, else None."""
    now = utcnow()
    async with factory() as session, session.begin():
        await _ensure_row(session, name)
        taken = await session.execute(
            update(JobLease)
            .where(
                JobLease.name == name,
                or_(JobLease.lease_until.is_(None), JobLease.lease_until < now),
                or_(
                    JobLease.started_at.is_(None),
                    JobLease.started_at <= now - timedelta(seconds=every_s - _slack_s(every_s)),
                ),
            )
            .values(
                holder=holder,
                lease_until=now + timedelta(seconds=lease_ttl_s(every_s)),
                started_at=now,
                outcome="running",
            )
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            return None
        # The run starts now, not at ``now`` above: on a busy machine the UPDATE may have waited
        # (for the row, for the CPU) until after the previous run gave the lease back, so its
        # start is stamped once the lease is ours; the next run's interval counts from here.
        started = utcnow()
        await session.execute(
            update(JobLease)
            .where(JobLease.name == name)
            .values(started_at=started)
            .execution_options(synchronize_session=False)
        )
        run = JobRun(name=name, holder=holder, started_at=started)
        session.add(run)
        await session.flush()
        return run.id


async def renew(factory: Factory, name: str, every_s: float, holder: str) -> bool:
    """Extend a lease still held by ``holder``; False when it was lost (lapsed and taken)."""
    async with factory() as session, session.begin():
        renewed = await session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.holder == holder)
            .values(lease_until=utcnow() + timedelta(seconds=lease_ttl_s(every_s)))
            .execution_options(synchronize_session=False)
        )
        return renewed.rowcount == 1


async def finish(
    factory: Factory, name: str, holder: str, run_id: int | None, *, started: datetime, error: str | None
) -> None:
    """Give the lease back and record the outcome (``run_id`` None: a job that takes no lease)."""
    now = utcnow()
    outcome = "failed" if error else "ok"
    values = {
        "finished_at": now,
        "duration_s": (now - started).total_seconds(),
        "outcome": outcome,
        "error": (error or None) and error[:200],
        "runs": JobLease.runs + 1,
        "failures": JobLease.failures + (1 if error else 0),
    }
    async with factory() as session, session.begin():
        if run_id is None:
            await _ensure_row(session, name)
            await session.execute(
                update(JobLease).where(JobLease.name == name).values(started_at=started, **values)
            )
            return
        await session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.holder == holder)
            .values(lease_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(JobRun).where(JobRun.id == run_id).values(finished_at=now, outcome=outcome)
        )
        await session.execute(delete(JobRun).where(JobRun.name == name, JobRun.started_at < now - HISTORY))


@dataclass(frozen=True, slots=True)
class JobState:
    name: str
    started_at: datetime | None
    duration_s: float | None
    outcome: str | None
    runs: int
    failures: int


async def job_states(session: AsyncSession) -> list[JobState]:
    """Every job's last run, for ``/metrics``."""
    rows = (await session.scalars(select(JobLease).order_by(JobLease.name))).all()
    return [JobState(r.name, r.started_at, r.duration_s, r.outcome, r.runs, r.failures) for r in rows]
