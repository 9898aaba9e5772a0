"""PgBouncer in transaction mode (Debian's, configured by ``deploy/pgbouncer.ini``) between
fieldsync's processes and PostgreSQL.

Transaction pooling gives each transaction whichever server connection is free, so a client
connection's transactions land on different server connections. asyncpg's defaults (named,
cached prepared statements) break there; ``?pgbouncer=transaction`` on the database URL turns
the caches off and names every statement uniquely (``backend.db.make_engine``). The first test
shows the breakage is real with a pool of three server connections; the second runs two API
processes and a worker through PgBouncer while two fleet simulations work against them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from backend.db import make_engine, make_session_factory, pgbouncer_mode
from backend.jobstate import JobRun
from backend.notifications.models import PushOutbox
from backend.syncstate import SyncMutation
from fieldsync.simulation.fleet import seed_fleet_users
from fieldsync.simulation.phone import Habits
from fieldsync.simulation.run import SimulationConfig, simulate
from fieldsync.simulation.server import ServerProcess, WorkerProcess
from tests.dbs import PostgresDatabase
from tests.deploy.conftest import skip_loudly
from tests.deploy.pgbouncer import PgBouncer, pgbouncer_binary
from tests.factories import build_network
from tests.fakes.fake_fcm import FakeFcm

START_S = 120.0
PHONES = 6  # per simulation; two simulations, one per API process
DAY_S = 12.0


@pytest.fixture
def bouncer_db(postgres_database: PostgresDatabase | None) -> Iterator[tuple[PgBouncer, str]]:
    """A fresh PostgreSQL database and a PgBouncer in front of it, or a loud skip."""
    if postgres_database is None:
        skip_loudly("set FIELDSYNC_TEST_DATABASE_URL (PgBouncer sits in front of PostgreSQL)")
    binary = pgbouncer_binary()
    if binary is None:
        skip_loudly("pgbouncer is not installed (apt-get install -y pgbouncer; .ci/run does)")
    db_url = postgres_database.fresh()
    bouncer = PgBouncer(binary, db_url, pool_size=3)
    try:
        yield bouncer, db_url
    finally:
        bouncer.stop()


def test_the_pgbouncer_flag_is_read_and_taken_off_the_url() -> None:
    url, on = pgbouncer_mode("postgresql+asyncpg://u:pw@h:6432/db?pgbouncer=transaction&ssl=require")
    assert (
        on and url.render_as_string(hide_password=False) == "postgresql+asyncpg://u:pw@h:6432/db?ssl=require"
    )
    assert pgbouncer_mode("postgresql+asyncpg://u@h/db") == ("postgresql+asyncpg://u@h/db", False)
    assert pgbouncer_mode("postgresql+asyncpg://u@h/db?pgbouncer=false")[1] is False
    with pytest.raises(ValueError, match="pgbouncer=transaction"):
        pgbouncer_mode("postgresql+asyncpg://u@h/db?pgbouncer=session")


async def _concurrent_transactions(url: str, clients: int = 10, rounds: int = 20) -> list[str]:
    """``clients`` sessions at once, each running transactions of three statements; the errors."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    errors: list[str] = []

    async def client(i: int) -> None:
        for j in range(rounds):
            try:
                async with factory() as session, session.begin():
                    assert (await session.execute(text("SELECT :a + 1"), {"a": i})).scalar_one() == i + 1
                    await session.execute(text(f"SELECT {j} + :a"), {"a": i})
                    await session.execute(select(func.count()).select_from(SyncMutation))
            except Exception as exc:  # noqa: BLE001 - counted: the point of the test
                errors.append(f"{type(exc).__name__}: {str(exc)[:160]}")

    try:
        await asyncio.gather(*(client(i) for i in range(clients)))
    finally:
        await engine.dispose()
    return errors


def test_asyncpg_defaults_break_under_transaction_pooling_and_pgbouncer_mode_does_not(
    bouncer_db: tuple[PgBouncer, str],
) -> None:
    bouncer, db_url = bouncer_db
    plain = asyncio.run(_concurrent_transactions(bouncer.url(db_url, flag=False)))
    assert plain, "the default settings worked through transaction pooling: this test shows nothing"
    assert any("prepared statement" in e for e in plain), plain[:3]
    assert asyncio.run(_concurrent_transactions(bouncer.url(db_url))) == []


@pytest.mark.timeout(300)
def test_two_api_processes_and_a_worker_through_pgbouncer(
    bouncer_db: tuple[PgBouncer, str], tmp_path: Path
) -> None:
    bouncer, db_url = bouncer_db
    redis_url = os.environ.get("FIELDSYNC_TEST_REDIS_URL", "")

    async def seed() -> None:
        engine = make_engine(db_url)
        try:
            async with make_session_factory(engine)() as session:
                await build_network(session)
                await session.flush()
                for prefix in ("pa", "pb"):
                    await seed_fleet_users(session, PHONES, prefix=prefix)
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(seed())
    through = bouncer.url(db_url)
    fcm = FakeFcm().start()
    settings: dict[str, Any] = {
        "redis_url": redis_url,
        "google_application_credentials": str(fcm.service_account(tmp_path)),
        "fcm_endpoint": fcm.base_url,
        "media_url": f"file://{tmp_path / 'media'}",
    }
    apis: list[ServerProcess] = []
    worker: WorkerProcess | None = None
    try:
        with ThreadPoolExecutor(2) as pool:
            apis = list(
                pool.map(
                    lambda i: ServerProcess(through, tmp_path / f"api{i}", ready_timeout=START_S, **settings),
                    range(2),
                )
            )
        worker = WorkerProcess(through, tmp_path / "worker", **settings)
        habits = Habits(think_s=0.2, offline_chance=0.1, offline_s=(0.3, 1.0), lost_reply_chance=0.05)

        async def both() -> list[Any]:
            configs = [
                SimulationConfig(
                    url=api.url, phones=PHONES, seconds=DAY_S, seed=30 + i, habits=habits, prefix=p
                )
                for i, (api, p) in enumerate(zip(apis, ("pa", "pb"), strict=True))
            ]
            # both fleets work on one network: each compares only once the other's day is in
            done = asyncio.Barrier(len(configs))
            return list(
                await asyncio.gather(*(simulate(c, progress=None, settle=done.wait) for c in configs))
            )

        reports = asyncio.run(both())
        outbox_done = _wait_for_outbox(db_url, timeout_s=30)
        runs = asyncio.run(_scalar(db_url, select(func.count()).select_from(JobRun)))
    finally:
        for process in [*apis, *([worker] if worker else [])]:
            process.stop()
        fcm.stop()
    logs = "\n".join(p.log_tail(4000) for p in [*apis, *([worker] if worker else [])])
    for report in reports:
        assert report.ok, report.render() + "\n" + logs
        assert report.tally.statuses["applied"] > 0, report.render()
        assert not [e for e in report.tally.errors if e.startswith("HTTP 5")], report.render() + logs
    assert "prepared statement" not in logs, logs
    assert "Traceback" not in logs, logs
    assert outbox_done, "the worker did not send the outbox through PgBouncer"
    assert runs > 0, "no job ran through PgBouncer"
    assert "prepared statement" not in bouncer.log_tail(20000)


async def _scalar(db_url: str, statement: Any) -> Any:
    engine = make_engine(db_url)
    try:
        async with make_session_factory(engine)() as session:
            return (await session.execute(statement)).scalar_one()
    finally:
        await engine.dispose()


def _wait_for_outbox(db_url: str, timeout_s: float) -> bool:
    """Until no row is pending (the worker sent them through PgBouncer); False on the timeout."""
    import time

    deadline = time.monotonic() + timeout_s
    pending = select(func.count()).select_from(PushOutbox).where(PushOutbox.status == "pending")
    while time.monotonic() < deadline:
        if asyncio.run(_scalar(db_url, pending)) == 0:
            return True
        time.sleep(0.5)
    return False
