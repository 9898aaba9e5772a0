"""Scheduled jobs run once per interval across workers; a worker that dies mid-run is replaced."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.jobstate import JobLease, JobRun, lease_ttl_s
from backend.jobstate import service as leases
from fieldsync.simulation.server import ServerProcess, WorkerProcess
from workers.scheduler import JOBS


async def test_a_lease_is_taken_once_per_interval_and_lapses_when_its_holder_dies(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    every = 0.4  # lease: MIN_LEASE_S
    first = await leases.take(session_factory, "probe", every, "worker-a")
    assert first is not None
    # while A holds it, nobody else (nor A again) takes it, even past the interval
    assert await leases.take(session_factory, "probe", every, "worker-b") is None
    assert await leases.renew(session_factory, "probe", every, "worker-a")
    assert not await leases.renew(session_factory, "probe", every, "worker-b")
    # A finishes: the job is free, but not due again before its interval has passed
    started = (await _lease(session_factory)).started_at
    await leases.finish(session_factory, "probe", "worker-a", first, started=started, error=None)
    assert await leases.take(session_factory, "probe", 60, "worker-b") is None
    second = await leases.take(session_factory, "probe", every, "worker-b")  # 0.4 s: due at once?
    if second is None:  # not yet 0.36 s since A started
        time.sleep(every)
        second = await leases.take(session_factory, "probe", every, "worker-b")
    assert second is not None
    # B "dies" mid-run (never finishes, never renews): the lease lapses after its length
    async with session_factory() as session, session.begin():
        row = await session.get(JobLease, "probe")
        assert row is not None and row.holder == "worker-b" and row.outcome == "running"
        row.lease_until = row.lease_until - timedelta(seconds=lease_ttl_s(every))  # time passes
        row.started_at = row.started_at - timedelta(seconds=lease_ttl_s(every))
    third = await leases.take(session_factory, "probe", every, "worker-a")
    assert third is not None
    await leases.finish(
        session_factory, "probe", "worker-a", third, started=started, error="RuntimeError: boom"
    )
    lease = await _lease(session_factory)
    assert (lease.outcome, lease.runs, lease.failures) == ("failed", 2, 1)
    async with session_factory() as session:
        runs = (await session.scalars(select(JobRun).where(JobRun.name == "probe").order_by(JobRun.id))).all()
    assert [(r.holder, r.outcome) for r in runs] == [
        ("worker-a", "ok"),
        ("worker-b", "running"),
        ("worker-a", "failed"),
    ]


async def _wait_for_runs(
    factory: async_sessionmaker[AsyncSession], enough: Callable[[list[JobRun]], bool], timeout_s: float
) -> list[JobRun]:
    """The runs of the 2-second job ``media_derivatives``, once ``enough`` of them are there."""
    deadline = time.monotonic() + timeout_s
    while True:
        async with factory() as session:
            query = select(JobRun).where(JobRun.name == "media_derivatives").order_by(JobRun.started_at)
            runs = list((await session.scalars(query)).all())
        if enough(runs) or time.monotonic() > deadline:
            return runs
        await asyncio.sleep(0.5)


async def _lease(factory: async_sessionmaker[AsyncSession]) -> JobLease:
    async with factory() as session:
        lease = await session.get(JobLease, "probe")
        assert lease is not None
        return lease


async def test_two_worker_processes_run_each_job_once_per_interval(
    db_url: str, tmp_path: Path, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    workers = [WorkerProcess(db_url, tmp_path / f"w{i}") for i in range(2)]
    try:
        runs = await _wait_for_runs(session_factory, lambda rs: len(rs) >= 3, 60)
        # kill -9 whichever worker ran the 2-second job last; the other takes it over
        victim = next(w for w in workers if f"-{w.proc.pid}-" in runs[-1].holder)
        victim.kill()
        killed_at = time.time()
        survivor = next(w for w in workers if w is not victim)
        await _wait_for_runs(
            session_factory,
            lambda rs: len([r for r in rs if r.started_at.timestamp() > killed_at]) >= 2,
            lease_ttl_s(2) + 20,
        )
        async with session_factory() as session:
            after = (await session.scalars(select(JobRun).order_by(JobRun.started_at))).all()
    finally:
        for worker in workers:
            worker.stop()
    logs = "\n".join(w.log_tail() for w in workers)
    every = {spec.name: spec.every_s for spec in JOBS}
    for name in {r.name for r in after}:
        mine = [r for r in after if r.name == name]
        for earlier, later in zip(mine, mine[1:], strict=False):
            # never two at once, and never twice within one interval
            if earlier.finished_at is not None:
                assert later.started_at >= earlier.finished_at, (name, earlier, later)
            assert (later.started_at - earlier.started_at).total_seconds() >= every[name] * 0.9 - 0.01, name
    derivatives = [r for r in after if r.name == "media_derivatives"]
    taken_over = [r for r in derivatives if r.started_at.timestamp() > killed_at]
    assert taken_over and all(f"-{survivor.proc.pid}-" in r.holder for r in taken_over), logs
    # about one run per 2 s over the whole time (two workers would make it twice as many)
    span = (derivatives[-1].started_at - derivatives[0].started_at).total_seconds()
    assert len(derivatives) <= span / (2 * 0.9) + 1.01
    # the once-a-minute jobs ran exactly once (both workers fired them at start-up, one took them)
    for name in ("evidence_sign_tree_head", "escalate_support_breaches"):
        assert len([r for r in after if r.name == name]) == 1, (name, logs)


_EXPECTED_JOB_METRICS = (
    'fieldsync_job_runs{job="media_derivatives"}',
    # a run's start is recorded when it starts, its duration and outcome when it ends: wait for both
    'fieldsync_job_last_duration_seconds{job="media_derivatives"}',
    'fieldsync_job_last_outcome{job="media_derivatives"',
    "sign_tree_head",
    'fieldsync_job_runs{job="deliver_pushes"}',  # the shared job, which may start a moment later
)


async def test_metrics_show_each_jobs_last_run(db_url: str, tmp_path: Path) -> None:
    with WorkerProcess(db_url, tmp_path / "w") as worker, ServerProcess(db_url, tmp_path / "api") as api:
        deadline = time.monotonic() + 90  # a worker starting on a loaded machine
        text = ""
        while time.monotonic() < deadline:
            text = httpx.get(api.url + "/metrics", timeout=10).text
            if all(name in text for name in _EXPECTED_JOB_METRICS):
                break
            time.sleep(0.5)
        log = worker.log_tail()
    assert 'fieldsync_job_last_run_timestamp_seconds{job="media_derivatives"}' in text, log
    assert 'fieldsync_job_last_duration_seconds{job="media_derivatives"}' in text
    assert 'fieldsync_job_last_outcome{job="media_derivatives",outcome="ok"} 1.0' in text
    assert 'fieldsync_job_runs{job="deliver_pushes"}' in text  # the shared job is recorded too
