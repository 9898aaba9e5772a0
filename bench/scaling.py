"""Scaling out (issue 18): push throughput with 1, 2, 3 API processes; notifications/s with 1, 2,
4 delivery workers on one outbox. PostgreSQL (and Redis, shared by the API processes).

``push``: ``--devices`` signed-in devices (one user each, tokens issued directly) push batches of
``--batch`` ``profile.update`` mutations as fast as the servers answer, for ``--seconds`` per
process count; device *i* talks to process *i mod N* (what a balancer does). Reported: applied
mutations/s, **server CPU ms per 1000 mutations** (all API processes, from /proc: steadier than
rates on a shared machine) and the raw limit of the same run: the same number of rows written by
one ``INSERT`` per batch into the mutation log straight through SQLAlchemy (no HTTP, no rules).

``delivery``: ``--pushes`` outbox rows (``--users`` device tokens) committed at once while K
``fieldsync worker`` processes run against the fake FCM (tests/fakes/fake_fcm.py, its own
process); time from the commit until every row is ``sent``; worker CPU per 1000 notifications,
and the fake's.

``python bench/scaling.py --db postgresql [--what push|delivery|both] [--processes 1,2,3]
[--workers 1,2,4]``; prints one JSON line per case, with the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

import _harness as h
import httpx
from _seeding import users_with_devices
from sqlalchemy import func, insert, select, update

from backend.db import make_session_factory, new_id, utcnow
from backend.identity import User
from backend.notifications import PushOutbox
from fieldsync.simulation.server import SECRET, WorkerProcess
from tests.fakes.fake_fcm import FakeFcmProcess

REDIS_ENV = "FIELDSYNC_TEST_REDIS_URL"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--what", choices=["push", "delivery", "both"], default="both")
    p.add_argument("--processes", default="1,2,3", help="API process counts for the push case")
    p.add_argument("--workers", default="1,2,4", help="worker counts for the delivery case")
    p.add_argument("--devices", type=int, default=24)
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--pushes", type=int, default=6000)
    p.add_argument("--users", type=int, default=600)
    p.add_argument(
        "--pgbouncer",
        type=int,
        default=0,
        metavar="POOL",
        help="API processes and workers through PgBouncer (deploy/pgbouncer.ini, transaction mode) "
        "with this default_pool_size",
    )
    p.add_argument(
        "--pgbouncer-no-reset",
        action="store_true",
        help="with --pgbouncer: no server_reset_query (no DISCARD ALL after each transaction)",
    )


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _devices(target: h.Target, count: int, prefix: str) -> list[tuple[str, str]]:
    """``count`` users with one device each; (access token, client id) per device."""
    from backend.config import load_settings
    from mobile_api.auth import issue_access_token

    settings = load_settings({}, env="test", database_url=target.url, secret_key=SECRET)
    engine = target.engine()
    try:
        async with make_session_factory(engine)() as s, s.begin():
            pairs = await users_with_devices(s, count, prefix)
            return [
                (issue_access_token(settings, user_id=u.id, device_id=d.id)[0], d.client_id) for u, d in pairs
            ]
    finally:
        await engine.dispose()


async def _push_case(
    target: h.Target, args: argparse.Namespace, processes: int, redis_url: str
) -> dict[str, Any]:
    devices = await _devices(target, args.devices, f"push{processes}")
    servers = [h.Server(target, database_url=args.db_through, redis_url=redis_url) for _ in range(processes)]
    applied = 0
    errors: dict[str, int] = {}
    try:
        cpu0 = sum(_cpu_of(s.proc.pid) for s in servers)
        until = time.monotonic() + args.seconds
        watch = h.Stopwatch()

        async def device(i: int, token: str, client_id: str) -> None:
            nonlocal applied
            url = servers[i % processes].url
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            seq = 0
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                while time.monotonic() < until:
                    batch = [
                        {
                            "id": f"m{seq + k}",
                            "seq": seq + k,
                            "name": "profile.update",
                            "args": {"display_name": f"n{seq + k}"},
                        }
                        for k in range(1, args.batch + 1)
                    ]
                    body = json.dumps({"client_id": client_id, "protocol": 1, "mutations": batch})
                    reply = await http.post("/sync/v1/push", content=body, headers=headers)
                    if reply.status_code != 200:
                        errors[str(reply.status_code)] = errors.get(str(reply.status_code), 0) + 1
                        await asyncio.sleep(0.05)
                        continue
                    seq = reply.json()["last_applied_seq"]
                    applied += sum(1 for r in reply.json()["results"] if r["status"] == "applied")

        await asyncio.gather(*(device(i, t, c) for i, (t, c) in enumerate(devices)))
        elapsed = watch.elapsed
        cpu = sum(_cpu_of(s.proc.pid) for s in servers) - cpu0
    finally:
        for server in servers:
            server.stop()
    raw = await _raw_insert(target, applied, args.batch)
    return {
        "processes": processes,
        "applied": applied,
        "per_s": round(applied / elapsed, 1),
        "server_cpu_ms_per_1000": round(cpu * 1e6 / max(1, applied), 1),
        "server_cpu_share": round(cpu / elapsed, 2),  # cores the API processes kept busy
        "errors": errors,
        "raw_insert_per_s": raw,
        "ratio_to_raw": h.ratio(applied / elapsed, raw),
    }


async def _raw_insert(target: h.Target, rows: int, batch: int) -> float:
    """The same number of mutation-log rows, one INSERT and commit per batch, no HTTP, no rules."""
    from backend.syncstate import SyncMutation

    engine = target.engine()
    try:
        factory = make_session_factory(engine)
        async with factory() as s:
            user_id = await s.scalar(select(User.id).limit(1))
        rows, client = max(rows, batch), f"raw-{new_id()}"
        watch = h.Stopwatch()
        for start in range(0, rows, batch):
            async with factory() as s, s.begin():
                await s.execute(
                    insert(SyncMutation),
                    [
                        {
                            "user_id": user_id,
                            "client_id": client,
                            "mutation_id": new_id(),
                            "seq": start + k,
                            "name": "profile.update",
                            "status": "applied",
                            "tx": 0,
                            "applied_at": utcnow(),
                        }
                        for k in range(batch)
                    ],
                )
        return round(rows / watch.elapsed, 1)
    finally:
        await engine.dispose()


async def _delivery_case(
    target: h.Target, args: argparse.Namespace, workers: int, fake: FakeFcmProcess
) -> dict[str, Any]:
    engine = target.engine()
    factory = make_session_factory(engine)
    try:
        async with factory() as s, s.begin():
            await s.execute(update(PushOutbox).values(status="sent"))  # an earlier case's leftovers
            people = [u for u, _ in await users_with_devices(s, args.users, f"n{workers}", push_tokens=True)]
        settings = {
            "google_application_credentials": str(fake.service_account),
            "fcm_endpoint": fake.base_url,
        }
        procs = [
            WorkerProcess(args.db_through or target.url, target.workdir / f"worker-{workers}-{i}", **settings)
            for i in range(workers)
        ]
        try:
            await asyncio.sleep(8)  # imports, the first OAuth token: started before the clock runs
            cpu0, fake0 = sum(_cpu_of(p.proc.pid) for p in procs), fake.cpu_seconds()
            async with factory() as s, s.begin():
                s.add_all(
                    PushOutbox(
                        user_id=people[n % args.users].id,
                        kind="alert",
                        title="Order shipped",
                        body=f"#{n}",
                        data={},
                    )
                    for n in range(args.pushes)
                )
            watch = h.Stopwatch()
            left = args.pushes
            while left and watch.elapsed < 300:
                await asyncio.sleep(0.1)
                async with factory() as s:
                    left = await s.scalar(
                        select(func.count()).select_from(PushOutbox).where(PushOutbox.status == "pending")
                    )
            elapsed = watch.elapsed
            cpu = sum(_cpu_of(p.proc.pid) for p in procs) - cpu0
            fake_cpu = fake.cpu_seconds() - fake0
        finally:
            for p in procs:
                p.stop()
    finally:
        await engine.dispose()
    return {
        "workers": workers,
        "pushes": args.pushes,
        "left": left,
        "per_s": round(args.pushes / elapsed, 1),
        "worker_cpu_ms_per_1000": round(cpu * 1e6 / args.pushes, 1),
        "fake_cpu_ms_per_1000": round(fake_cpu * 1e6 / args.pushes, 1),
    }


async def measure(target: h.Target, args: argparse.Namespace) -> dict[str, Any]:
    """Push throughput by API process count and notifications/s by worker count (PostgreSQL)."""
    if target.backend != "postgresql":
        return {"skipped": "scaling out needs PostgreSQL (and Redis): run with --db postgresql"}
    redis_url = os.environ.get(REDIS_ENV, "")
    if not redis_url:
        return {"skipped": f"set {REDIS_ENV}"}
    await h.seed_demo_network(target, terminals=12, skus=40)
    with contextlib.ExitStack() as stack:
        args.db_through = None
        if args.pgbouncer:
            from tests.deploy.pgbouncer import PgBouncer, pgbouncer_binary

            binary = pgbouncer_binary()
            if binary is None:
                return {"skipped": "--pgbouncer: pgbouncer is not installed"}
            bouncer = PgBouncer(
                binary, target.url, pool_size=args.pgbouncer, reset=not args.pgbouncer_no_reset
            )
            stack.callback(bouncer.stop)
            args.db_through = bouncer.url(target.url)
        return await _cases(target, args, redis_url) | {
            "pgbouncer_pool": args.pgbouncer or None,
            "pgbouncer_reset": (not args.pgbouncer_no_reset) if args.pgbouncer else None,
        }


async def _cases(target: h.Target, args: argparse.Namespace, redis_url: str) -> dict[str, Any]:
    out: dict[str, Any] = {"push": [], "delivery": []}
    if args.what in ("push", "both"):
        for n in [int(x) for x in args.processes.split(",")]:
            h.log(f"push with {n} API process(es)")
            out["push"].append(await _push_case(target, args, n, redis_url) | {"load_1m": os.getloadavg()[0]})
    if args.what in ("delivery", "both"):
        with FakeFcmProcess(target.workdir / "fcm") as fake:
            for n in [int(x) for x in args.workers.split(",")]:
                h.log(f"delivery with {n} worker(s)")
                out["delivery"].append(
                    await _delivery_case(target, args, n, fake) | {"load_1m": os.getloadavg()[0]}
                )
    return out


def summarise(backend: str, f: dict[str, Any]) -> str:
    if "skipped" in f:
        return f["skipped"]
    lines = [
        f"push, {c['processes']} API process(es): {c['per_s']}/s applied, {c['server_cpu_ms_per_1000']} ms "
        f"server CPU per 1000 ({c['server_cpu_share']} cores busy; raw insert {c['raw_insert_per_s']}/s), "
        f"errors {c['errors']}, load {c['load_1m']:.1f}"
        for c in f["push"]
    ] + [
        f"delivery, {c['workers']} worker(s): {c['per_s']}/s, {c['worker_cpu_ms_per_1000']} ms worker CPU "
        f"per 1000 (fake FCM {c['fake_cpu_ms_per_1000']}), {c['left']} left, load {c['load_1m']:.1f}"
        for c in f["delivery"]
    ]
    if f.get("pgbouncer_pool"):
        lines.insert(0, f"through PgBouncer, transaction mode, default_pool_size {f['pgbouncer_pool']}:")
    return "\n  ".join(lines)


BENCH = h.Bench("scaling", measure, summarise, add_arguments)

if __name__ == "__main__":
    raise SystemExit(h.run(BENCH))
