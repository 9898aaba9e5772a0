"""The production layout under faults: HAProxy (Debian's, with ``deploy/haproxy.cfg``, the file
docs/operations.md recommends) in front of three API processes, two workers, PostgreSQL, Redis,
S3 (moto's server) and the fake FCM. The fleet simulator (the code behind
``fieldsync simulate --url``) runs through HAProxy while one API process and one worker are
killed with ``kill -9`` and later started again. Then:

- every acknowledged mutation was applied exactly once (one stored result per id), and every
  phone's replica equals the server's view (the simulator's convergence check);
- WebSocket clients on the killed process were back on a live one within seconds;
- each outbox notification reached the fake FCM once per device token;
- every job ran at most once per interval, never two at once;
- photo uploads finished across the kill: the simulator's and a slow tus upload that spans it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import select
from tusclient import client as tus
from tusclient.exceptions import TusCommunicationError

from backend.db import make_engine, make_session_factory, utcnow
from backend.identity import Device, User
from backend.jobstate import JobLease, JobRun, lease_ttl_s
from backend.notifications.models import PushOutbox
from backend.syncstate import SyncMutation
from fieldsync.simulation.fleet import seed_fleet_users
from fieldsync.simulation.phone import Habits
from fieldsync.simulation.run import SimulationConfig, simulate
from fieldsync.simulation.server import ROOT, ServerProcess, WorkerProcess, free_port
from tests.dbs import PostgresDatabase
from tests.deploy.conftest import skip_loudly
from tests.deploy.pgbouncer import PgBouncer, pgbouncer_binary
from tests.factories import DEMO_PASSWORD, build_network
from tests.fakes.fake_fcm import FakeFcm
from tests.media.conftest import make_bucket
from tests.media.images import photo
from workers.scheduler import JOBS

HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"
PHONES = 10
DAY_S = 20.0
KILL_AT_S = 7.0
RESTART_AT_S = 13.0
SOCKETS = 6
PUSH_LEASE_S = 15.0  # FIELDSYNC_PUSH_LEASE_S (120 s by default): the survivor resends within the test
RECONNECT_WITHIN_S = 10.0  # measured 1.7-5.9 s at load average 18 on 2 cores
START_S = 120.0  # a process starting on a loaded 2-core machine (imports) can take a while
#: Run by hand, not in CI (it is the same test again, minutes): ``reset`` puts Debian's PgBouncer
#: with deploy/pgbouncer.ini (pool 20) between every process and PostgreSQL, ``noreset`` the same
#: without server_reset_query (no DISCARD ALL).
THROUGH_PGBOUNCER = os.environ.get("FIELDSYNC_DEPLOY_PGBOUNCER", "")


class Haproxy:
    """``haproxy -db -f deploy/haproxy.cfg`` with the addresses in its environment."""

    def __init__(self, binary: str, listen_port: int, api_ports: list[int], workdir: Path) -> None:
        env = dict(os.environ, FIELDSYNC_LISTEN=f"127.0.0.1:{listen_port}")
        env.update({f"FIELDSYNC_API{i + 1}": f"127.0.0.1:{p}" for i, p in enumerate(api_ports)})
        self.url = f"http://127.0.0.1:{listen_port}"
        self.log_path = workdir / "haproxy.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [binary, "-db", "-f", str(HAPROXY_CFG)], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/health/ready", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("haproxy did not answer: " + self.log_path.read_text(errors="replace"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def s3_process(tmp_path: Path) -> Iterator[str]:
    """moto's S3 server in a process of its own (not sharing the test's GIL with the phones)."""
    port = free_port()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    with open(tmp_path / "moto.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(endpoint, timeout=2)
                break
            time.sleep(0.2)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def layout_inputs(
    postgres_database: PostgresDatabase | None, s3_process: str, tmp_path: Path
) -> Iterator[dict[str, Any]]:
    """PostgreSQL, Redis and haproxy, or a loud skip; a seeded database and an S3 bucket."""
    if postgres_database is None:
        skip_loudly("set FIELDSYNC_TEST_DATABASE_URL (the deployment test runs on PostgreSQL)")
    redis_url = os.environ.get("FIELDSYNC_TEST_REDIS_URL")
    if not redis_url:
        skip_loudly("set FIELDSYNC_TEST_REDIS_URL (the deployment test needs Redis)")
    haproxy = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if haproxy is None:
        skip_loudly("haproxy is not installed (apt-get install -y haproxy; .ci/run does)")
    db_url = postgres_database.fresh()

    async def seed() -> None:
        engine = make_engine(db_url)
        try:
            async with make_session_factory(engine)() as session:
                await build_network(session)
                await session.flush()
                await seed_fleet_users(session, PHONES)
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(seed())
    bouncer = None
    if THROUGH_PGBOUNCER:  # by hand: the whole fleet through PgBouncer (docs/operations.md)
        binary = pgbouncer_binary()
        if binary is None:
            skip_loudly("FIELDSYNC_DEPLOY_PGBOUNCER is set but pgbouncer is not installed")
        bouncer = PgBouncer(binary, db_url, pool_size=20, reset=THROUGH_PGBOUNCER != "noreset")
        db_url = bouncer.url(db_url)  # every process and every check of the test go through it
    try:
        yield {
            "db_url": db_url,
            "redis_url": redis_url,
            "haproxy": haproxy,
            "media_url": make_bucket(s3_process, f"fleet-{uuid.uuid4().hex[:12]}"),
        }
    finally:
        if bouncer is not None:
            bouncer.stop()


class Sockets:
    """WebSocket clients through HAProxy that reconnect at once when their socket dies, and
    record how long each outage lasted (until the new socket said ``ready``)."""

    def __init__(self, ws_url: str, token: str) -> None:
        self.ws_url, self.token = ws_url, token
        self.ready = 0
        self.outages: list[float] = []
        self.still_down: dict[int, float] = {}
        self._stop = asyncio.Event()

    async def _connect(self) -> Any:
        conn = await websockets.connect(
            self.ws_url, additional_headers={"Authorization": f"Bearer {self.token}"}
        )
        while json.loads(await asyncio.wait_for(conn.recv(), 10))["type"] != "ready":
            pass
        return conn

    async def run_one(self, i: int) -> None:
        conn = await self._connect()
        self.ready += 1
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(conn.recv(), 0.5)
            except TimeoutError:
                continue
            except websockets.ConnectionClosed:
                lost = time.monotonic()
                self.still_down[i] = lost
                while not self._stop.is_set():
                    try:
                        conn = await self._connect()
                        break
                    except (OSError, websockets.WebSocketException, TimeoutError):
                        await asyncio.sleep(0.2)
                else:
                    return
                self.outages.append(time.monotonic() - lost)
                del self.still_down[i]
        await conn.close()

    def stop(self) -> None:
        self._stop.set()


def _slow_upload(url: str, headers: dict[str, str], data: bytes, until: float) -> tuple[str, int]:
    """A tus upload in small chunks spread over the kill; on any failure resume (HEAD) through
    HAProxy, which sends it to a live process. Returns the stored SHA-256 and the retries."""
    client = tus.TusClient(f"{url}/media/uploads/", headers=headers)
    chunk = max(1024, len(data) // 40)
    uploader = client.uploader(
        file_stream=io.BytesIO(data), chunk_size=chunk, metadata={"filetype": "image/jpeg"}
    )
    location, retries = None, 0
    pause = max(0.05, (until - time.monotonic()) / 40)
    while True:
        try:
            if location is not None:
                uploader = client.uploader(file_stream=io.BytesIO(data), chunk_size=chunk, url=location)
            while uploader.offset < len(data):
                uploader.upload_chunk()
                location = uploader.url
                time.sleep(pause)
            break
        except (TusCommunicationError, OSError, httpx.HTTPError) as exc:
            retries += 1
            assert retries < 60, f"the upload never got through: {exc}"
            time.sleep(0.3)
    head = httpx.head(str(uploader.url), headers={**headers, "Tus-Resumable": "1.0.0"}, timeout=10)
    return head.headers.get("Fieldsync-Media-Sha256", ""), retries


@pytest.mark.timeout(420)  # processes start slowly on a loaded machine; the day itself is bounded
def test_the_fleet_behind_haproxy_survives_kill_9_of_an_api_process_and_a_worker(
    layout_inputs: dict[str, Any], tmp_path: Path
) -> None:
    started = time.monotonic()
    db_url = layout_inputs["db_url"]
    fcm = FakeFcm().start()
    settings = {
        "redis_url": layout_inputs["redis_url"],
        "media_url": layout_inputs["media_url"],
        "google_application_credentials": str(fcm.service_account(tmp_path)),
        "fcm_endpoint": fcm.base_url,
        "drain_delay_s": 0,
        # rows the killed worker held (claimed, maybe already at FCM) are sent again after this
        "push_lease_s": PUSH_LEASE_S,
    }
    ports = [free_port() for _ in range(3)]
    apis: list[ServerProcess] = []
    workers: list[WorkerProcess] = []
    proxy: Haproxy | None = None
    try:
        with ThreadPoolExecutor(3) as pool:  # side by side: each waits until it answers
            apis = list(
                pool.map(
                    lambda i: ServerProcess(
                        db_url, tmp_path / f"api{i + 1}", port=ports[i], ready_timeout=START_S, **settings
                    ),
                    range(3),
                )
            )
        workers = [WorkerProcess(db_url, tmp_path / f"worker{i + 1}", **settings) for i in range(2)]
        proxy = Haproxy(layout_inputs["haproxy"], free_port(), ports, tmp_path)
        result = asyncio.run(_day(proxy, apis, workers, db_url, tmp_path, settings))
        _wait_for_outbox(db_url, timeout_s=20 + PUSH_LEASE_S)
        # a lease held by the killed worker lapses only after lease_ttl_s (at least 20 s): the day
        # may end before that, so give the survivor until the lapse plus two intervals
        _wait_for_takeover(db_url, result["killed_worker"], timeout_s=lease_ttl_s(2) + 15)
        sends = Counter(
            (m["message"]["data"]["push_id"], m["message"]["token"])
            for m in fcm.messages
            if "data" in m["message"]
        )
        outbox = _query(db_url, select(PushOutbox.id, PushOutbox.status, PushOutbox.user_id))
        with_tokens = {
            u for (u,) in _query(db_url, select(Device.user_id).where(Device.push_token.is_not(None)))
        }
        runs = _query(db_url, select(JobRun).order_by(JobRun.started_at), objects=True)
        stored = _query(
            db_url, select(SyncMutation.user_id, SyncMutation.client_id, SyncMutation.mutation_id)
        )
    finally:
        if proxy is not None:
            proxy.stop()
        for process in [*apis, *workers]:
            process.stop()
        fcm.stop()
    logs = "\n".join(p.log_tail(1500) for p in [*apis, *workers])
    report, sockets, upload = result["report"], result["sockets"], result["upload"]
    killed = result["killed_worker"]

    # the simulator: nothing lost, every phone converged, every attached photo stored intact
    assert report.ok, report.render() + "\n" + logs
    assert report.tally.statuses["applied"] > 0, report.render()
    server_errors = [
        e for e in report.tally.errors if e.startswith("HTTP 5") and not e.startswith("HTTP 503")
    ]
    # a request in flight on the killed process comes back 502 from HAProxy (the phone retries
    # it: it is idempotent); nothing else may be a server error
    assert not [e for e in server_errors if not e.startswith("HTTP 502")], report.render() + logs

    # every acknowledged mutation was applied once: one stored result per (user, client, id)
    per_key = Counter((u, c, m) for u, c, m in stored)
    assert max(per_key.values(), default=1) == 1
    usernames = result["user_ids"]
    acknowledged = [
        (usernames[username], client_id, mid)
        for (username, client_id), results in report.acknowledged.items()
        for mid, status in results.items()
        if status in ("applied", "rejected", "conflict")
    ]
    missing = [k for k in acknowledged if k not in per_key]
    assert not missing, missing[:5]

    # WebSockets: some were on the killed process, all came back within seconds
    assert sockets.ready == SOCKETS
    assert sockets.outages, "no socket was on the killed process"
    assert not sockets.still_down

    # each owed notification reached the fake FCM once per device token — but for rows the
    # killed worker held (at least once: it may have died after FCM took them; twice at most,
    # the phone drops the repeat by push_id: tests/deploy/test_push_repeat.py)
    repeats = {k: n for k, n in sends.items() if n > 1}
    assert sends and all(n == 2 and k[0] in killed["held_rows"] for k, n in repeats.items()), repeats
    sent = [row_id for row_id, status, user_id in outbox if status == "sent" and user_id in with_tokens]
    assert sent, "no chat push was owed (the simulator's chat needs offline recipients)"
    at_fake = {push_id for push_id, _token in sends}
    assert not [r for r in sent if str(r) not in at_fake], "sent rows that never reached FCM"
    assert all(status in ("sent", "failed") for _, status, _ in outbox), Counter(s for _, s, _ in outbox)

    # every job at most once per interval, never two at once, across the worker's death
    every = {spec.name: spec.every_s for spec in JOBS}
    for name in {r.name for r in runs}:
        mine = [r for r in runs if r.name == name]
        for earlier, later in zip(mine, mine[1:], strict=False):
            assert (later.started_at - earlier.started_at).total_seconds() >= every[name] * 0.9 - 0.01, name
            if earlier.finished_at is not None:
                assert later.started_at >= earlier.finished_at, (name, vars(earlier), vars(later))
    taken_over = [
        r
        for r in runs
        if r.name == "media_derivatives" and r.started_at > killed["at"] and r.holder != killed["holder"]
    ]
    assert taken_over, f"nobody took media_derivatives over from {killed}"

    # the slow upload spanned the kill and finished with the right bytes
    assert upload["sha256"] == upload["expected"], upload
    # back on a live process within seconds (HAProxy: a refused connection is redispatched at once;
    # the rest is the handshake, sign-in and subscriptions on a busy machine)
    assert max(sockets.outages) < RECONNECT_WITHIN_S, sockets.outages
    print(
        f"deployment test: {time.monotonic() - started:.0f} s wall; socket outages "
        f"{[round(o, 2) for o in sockets.outages]} s; slow upload resumed {upload['retries']}x; "
        f"{sum(sends.values())} pushes at the fake FCM for {len(sent)} outbox rows ({len(repeats)} sent "
        f"again, of {len(killed['held_rows'])} the killed worker held)\n{report.render()}"
    )


async def _day(
    proxy: Haproxy,
    apis: list[ServerProcess],
    workers: list[WorkerProcess],
    db_url: str,
    tmp_path: Path,
    settings: dict[str, Any],
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=proxy.url, timeout=30) as http:
        body = {
            "username": "dist-north",
            "password": DEMO_PASSWORD,
            "client_id": "sockets",
            "platform": "web",
        }
        login = await http.post("/auth/login", json=body)
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        inspector = await http.post(
            "/auth/login",
            json={
                "username": "inspector-north",
                "password": DEMO_PASSWORD,
                "client_id": "slow",
                "platform": "android",
            },
        )
        upload_headers = {"Authorization": f"Bearer {inspector.json()['access_token']}"}
    sockets = Sockets(proxy.url.replace("http://", "ws://") + "/ws", token)
    socket_tasks = [asyncio.create_task(sockets.run_one(i)) for i in range(SOCKETS)]
    while sockets.ready < SOCKETS:
        await asyncio.sleep(0.1)
    data = photo(91, size=(1400, 1000))
    uploads: list[asyncio.Future[tuple[str, int]]] = []
    killed: dict[str, Any] = {}

    day_started = asyncio.Event()

    def progress(line: str) -> None:  # the simulator's progress lines; tally lines once the day runs
        if not line.startswith(("behaviours", "enrolling", "\nend of day")):
            day_started.set()

    async def faults() -> None:
        await day_started.wait()  # enrolment is not the phones' day: faults hit the day itself
        until = time.monotonic() + RESTART_AT_S + 3  # a slow upload spanning the kill and the restart
        uploads.append(
            asyncio.ensure_future(asyncio.to_thread(_slow_upload, proxy.url, upload_headers, data, until))
        )
        await asyncio.sleep(KILL_AT_S)
        apis[1].kill()
        # the worker that holds (or last held) the 2-second job's lease: its job must be taken over
        holder = None
        for _ in range(240):  # the workers may still be starting on a busy machine
            rows = _query(db_url, select(JobLease.holder).where(JobLease.name == "media_derivatives"))
            holder = rows[0][0] if rows else None
            if holder:
                break
            await asyncio.sleep(0.5)
        victim = next((i for i, w in enumerate(workers) if f"-{w.proc.pid}-" in (holder or "")), 0)
        killed.update(holder=holder, at=utcnow(), index=victim)
        workers[victim].kill()
        # outbox rows it held: a kill inside a delivery window leaves them to be sent again
        pid = workers[victim].proc.pid
        sending = select(PushOutbox.id, PushOutbox.claimed_by).where(PushOutbox.status == "sending")
        held = await asyncio.to_thread(_query, db_url, sending)
        killed["held_rows"] = {str(row_id) for row_id, by in held if by and by.endswith(f"-{pid}")}
        await asyncio.sleep(RESTART_AT_S - KILL_AT_S)
        port = apis[1].port
        apis[1] = await asyncio.to_thread(
            ServerProcess, db_url, tmp_path / "api2", port=port, ready_timeout=START_S, **settings
        )
        workers[victim] = WorkerProcess(db_url, tmp_path / f"worker{victim + 1}-again", **settings)

    habits = Habits(
        think_s=0.3,
        offline_chance=0.1,
        offline_s=(0.3, 1.5),
        lost_reply_chance=0.05,
        dropped_chunk_chance=0.1,
        min_actions=6,
    )
    weights = {"inspect a shop, with photos": 6}
    config = SimulationConfig(
        url=proxy.url,
        phones=PHONES,
        seconds=DAY_S,
        seed=18,
        habits=habits,
        weights=weights,
        progress_every_s=0.5,
    )
    fault_task = asyncio.create_task(faults())
    report = await simulate(config, progress=progress)
    await fault_task
    sha256, retries = await uploads[0]
    sockets.stop()
    await asyncio.gather(*socket_tasks)
    user_ids = dict(_query(db_url, select(User.username, User.id)))
    return {
        "report": report,
        "sockets": sockets,
        "upload": {"sha256": sha256, "expected": hashlib.sha256(data).hexdigest(), "retries": retries},
        "user_ids": user_ids,
        "killed_worker": killed,
    }


def _query(db_url: str, statement: Any, *, objects: bool = False) -> list[Any]:
    """Rows (or ORM objects) of ``statement``, read in a thread of its own (callable from a loop)."""

    async def run() -> list[Any]:
        engine = make_engine(db_url)
        try:
            async with make_session_factory(engine)() as session:
                result = await session.execute(statement)
                return list(result.scalars().all() if objects else result.all())
        finally:
            await engine.dispose()

    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.extend(asyncio.run(run())))
    thread.start()
    thread.join()
    return out


def _wait_for_takeover(db_url: str, killed: dict, timeout_s: float) -> None:
    """Until another worker than the killed one has run ``media_derivatives`` after the kill."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        taken = _query(
            db_url,
            select(JobRun.id).where(
                JobRun.name == "media_derivatives",
                JobRun.started_at > killed["at"],
                JobRun.holder != killed["holder"],
            ),
        )
        if taken:
            return
        time.sleep(0.5)


def _wait_for_outbox(db_url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        left = _query(db_url, select(PushOutbox.id).where(PushOutbox.status.in_(("pending", "sending"))))
        if not left:
            return
        time.sleep(0.5)
