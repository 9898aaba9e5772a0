"""WebSocket fan-out: messages/s and send→receive latency with 1,000 sockets on one server process.

Seeds a fresh database with ``--sockets`` users in ``--sockets / 2`` direct supplier↔distributor
conversations, starts one real API process (uvicorn, in-memory channels), connects one socket
per user, then sends messages over HTTP at ``--rate`` per second for ``--seconds``, round-robin
over the conversations. Each message is persisted (change feed, push outbox) before it is
broadcast; latency is HTTP send start → arrival on the other member's socket. The raw floor
measured in the same run is a WebSocket ping→pong round trip over the same sockets.

Prints one JSON line. ``python bench/fanout.py [--sockets 1000] [--rate 500] [--seconds 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-key-0123456789abcdef0123456789"


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def seed(url: str, pairs: int) -> list[tuple[str, str, str]]:
    """``pairs`` conversations; returns (conversation id, supplier token, distributor token)."""
    from sqlalchemy import select

    from backend.config import load_settings
    from backend.db import make_engine, make_session_factory
    from backend.demo import seed_demo
    from backend.identity import Actor, Device, Organisation, User
    from backend.identity.passwords import hash_password
    from backend.messaging import service
    from mobile_api.auth import issue_access_token

    settings = load_settings({}, env="test", database_url=url, secret_key=SECRET, var_dir=tempfile.mkdtemp())
    engine = make_engine(url)
    factory = make_session_factory(engine)
    async with factory() as s, s.begin():
        await seed_demo(s, terminals=12, skus=40, activity=False)
    async with factory() as s, s.begin():
        orgs = {o.code: o for o in (await s.execute(select(Organisation))).scalars()}
        supplier, distributor = orgs["sup-a"], orgs["dist-00"]
        pw = hash_password("bench-password")
        users = []
        for i in range(pairs):
            for org, role in ((supplier, "supplier_staff"), (distributor, "distributor_staff")):
                u = User(
                    org_id=org.id,
                    username=f"b-{role[:3]}-{i}",
                    display_name=f"{role} {i}",
                    role=role,
                    password_hash=pw,
                )
                s.add(u)
                users.append((u, org))
        await s.flush()
        devices = {}
        for u, _ in users:
            devices[u.id] = Device(user_id=u.id, client_id="bench", platform="android")
            s.add(devices[u.id])
        await s.flush()
        out = []
        for i in range(pairs):
            (sup, sup_org), (dist, _) = users[2 * i], users[2 * i + 1]
            actor = Actor(user_id=sup.id, org_id=sup_org.id, org_kind="supplier", role=sup.role)
            conv = await service.create_conversation(s, actor, kind="direct", member_ids=[dist.id])
            out.append(
                (
                    conv.id,
                    issue_access_token(settings, user_id=sup.id, device_id=devices[sup.id].id)[0],
                    issue_access_token(settings, user_id=dist.id, device_id=devices[dist.id].id)[0],
                )
            )
    await engine.dispose()
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, var_dir: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "FIELDSYNC_DATABASE_URL": url,
        "FIELDSYNC_SECRET_KEY": SECRET,
        "FIELDSYNC_VAR_DIR": var_dir,
        "FIELDSYNC_RUN_WORKER_IN_PROCESS": "false",
        "FIELDSYNC_REQUESTS_PER_MINUTE": "10000000",
        "FIELDSYNC_LOG_LEVEL": "WARNING",
        "FIELDSYNC_REDIS_URL": "",
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "fieldsync.wiring:app_factory",
        "--host",
        "127.0.0.1",
    ]
    cmd += ["--port", str(port), "--ws", "websockets-sansio", "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


class Receiver:
    def __init__(self) -> None:
        self.sent_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.pongs: list[float] = []

    async def listen(
        self, conn: websockets.ClientConnection, ping_sent: dict[int, float], measure: bool
    ) -> None:
        async for raw in conn:
            now = time.perf_counter()
            event = json.loads(raw)
            kind = event.get("type")
            if kind == "message" and measure:  # the distributor's socket; the sender's echo is not counted
                key = event["message"]["client_message_id"]
                if key in self.sent_at:
                    self.latencies.append(now - self.sent_at.pop(key))
            elif kind == "pong":
                started = ping_sent.pop(id(conn), None)
                if started is not None:
                    self.pongs.append(now - started)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=500.0, help="messages sent per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16, help="sends in flight at most")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    args = parser.parse_args()
    pairs = max(1, args.sockets // 2)
    tmp = tempfile.mkdtemp(prefix="fs-fanout-")
    url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
    from backend.migrate import upgrade

    await asyncio.to_thread(upgrade, url)
    t0 = time.perf_counter()
    convs = await seed(url, pairs)
    print(f"seeded {pairs} conversations in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    proc, base = start_server(url, tmp)
    receiver = Receiver()
    ping_sent: dict[int, float] = {}
    ws_url = base.replace("http://", "ws://") + "/ws"
    try:
        conns: list[websockets.ClientConnection] = []
        tokens = [t for _, s, d in convs for t in (s, d)]
        for chunk in (tokens[i : i + 50] for i in range(0, len(tokens), 50)):
            opened = await asyncio.gather(
                *(
                    websockets.connect(ws_url, additional_headers={"Authorization": f"Bearer {t}"})
                    for t in chunk
                )
            )
            for conn in opened:
                assert json.loads(await conn.recv())["type"] == "ready"
            conns.extend(opened)
        print(f"{len(conns)} sockets connected", file=sys.stderr)
        listeners = [
            asyncio.create_task(receiver.listen(c, ping_sent, i % 2 == 1)) for i, c in enumerate(conns)
        ]

        # Raw floor: ping→pong round trips over the same sockets.
        for conn in conns[: min(200, len(conns))]:
            ping_sent[id(conn)] = time.perf_counter()
            await conn.send('{"type":"ping"}')
            await asyncio.sleep(0.002)
        await asyncio.sleep(1)

        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
            interval = 1.0 / args.rate
            total = int(args.rate * args.seconds)
            in_flight: set[asyncio.Task[None]] = set()
            errors = 0

            gate = asyncio.Semaphore(args.concurrency)

            async def send(n: int) -> None:
                nonlocal errors
                conv_id, sup_token, _ = convs[n % len(convs)]
                key = f"b{n}"
                async with gate:
                    receiver.sent_at[key] = time.perf_counter()
                    try:
                        r = await http.post(
                            f"/conversations/{conv_id}/messages",
                            json={"client_message_id": key, "body": f"bench {n}"},
                            headers={"Authorization": f"Bearer {sup_token}"},
                        )
                        ok = r.status_code == 201
                    except httpx.HTTPError:
                        ok = False
                if not ok:
                    errors += 1

            start = time.perf_counter()
            for n in range(total):
                target = start + n * interval
                delay = target - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                while len(in_flight) >= 4 * args.concurrency:  # the server sets the pace when slower
                    await asyncio.sleep(0.001)
                task = asyncio.create_task(send(n))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            if in_flight:
                await asyncio.gather(*in_flight)
            send_elapsed = time.perf_counter() - start
            deadline = time.perf_counter() + 10
            while receiver.sent_at and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - start
        for task in listeners:
            task.cancel()
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    lat = [x * 1000 for x in receiver.latencies]
    pongs = [x * 1000 for x in receiver.pongs]
    print(
        json.dumps(
            {
                "bench": "fanout",
                "database": url.split(":", 1)[0],
                "sockets": len(conns),
                "conversations": pairs,
                "target_rate": args.rate,
                "concurrency": args.concurrency,
                "sent": total - errors,
                "errors": errors,
                "send_rate": round((total - errors) / send_elapsed, 1),
                "delivered": len(lat),
                "delivered_per_s": round(len(lat) / elapsed, 1),
                "p50_ms": round(statistics.median(lat), 2) if lat else None,
                "p99_ms": round(percentile(lat, 0.99), 2) if lat else None,
                "max_ms": round(max(lat), 2) if lat else None,
                "raw_ws_roundtrip_p50_ms": round(statistics.median(pongs), 2) if pongs else None,
                "raw_ws_roundtrip_p99_ms": round(percentile(pongs, 0.99), 2) if pongs else None,
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
