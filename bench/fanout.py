"""WebSocket fan-out: messages/s and send→receive latency with 1,000 sockets.

Seeds ``--sockets`` users in ``--sockets / 2`` direct supplier↔distributor conversations,
starts real API processes (``--fanout memory``: one process, in-memory channels; ``redis``:
``--servers`` processes on Redis channels from ``FIELDSYNC_TEST_REDIS_URL``, the two members
of a conversation on different processes when there are several), connects one socket per
user, then sends messages at ``--rate`` per second for ``--seconds``, round-robin over the
conversations. A message is sent over the sender's socket (``--send ws``, acknowledged after
commit) or over HTTP (``--send http``); either way it is persisted (change feed, push outbox)
before it is broadcast. Latency is send start → arrival on the other member's socket.

The load generator is ``--clients`` processes, each owning whole conversations, so the client
is not the bottleneck; each reports its CPU and event-loop lag. The raw floor measured in the
same run is a WebSocket ping→pong round trip over the same sockets (idle, and under load).

``python bench/fanout.py [--db all|sqlite|postgresql] [--fanout memory|redis] [--send ws|http]
[--sockets 1000] [--rate 500] [--seconds 10] [--clients 2]``
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

from _harness import (
    Bench,
    Server,
    Target,
    latency_ms,
    log,
    machine,
    ratio,
    run,
    seed_demo_network,
)

REDIS_ENV = "FIELDSYNC_TEST_REDIS_URL"


# --- seeding ---------------------------------------------------------------------------------

PREFIX = "fan"  # usernames f"{PREFIX}-s-{i}" / f"{PREFIX}-d-{i}": the seeded pairs, found again by name


async def seed(target: Target, pairs: int) -> None:
    """``pairs`` direct supplier↔distributor conversations, one device per user, in one transaction.

    Bulk: one password hash for all, the users, devices, conversations and members each added in
    one flush (the change-feed hook writes their change-log rows in bulk too), no per-pair service
    call. The rows are what ``create_conversation`` makes, less its ``member.added`` events (nobody
    listens while seeding).
    """
    from sqlalchemy import select

    from backend.db import make_session_factory
    from backend.identity import Device, Organisation, User
    from backend.identity.passwords import hash_password
    from backend.messaging.models import Conversation, ConversationMember

    await seed_demo_network(target, terminals=12, skus=40)
    engine = target.engine()
    try:
        async with make_session_factory(engine)() as s, s.begin():
            orgs = {o.code: o for o in (await s.execute(select(Organisation))).scalars()}
            pw = hash_password("bench-password")

            def staff(org: str, role: str, name: str, tag: str) -> list[User]:
                return [
                    User(
                        org_id=orgs[org].id,
                        username=f"{PREFIX}-{tag}-{i}",
                        display_name=f"{name} {i}",
                        role=role,
                        password_hash=pw,
                    )
                    for i in range(pairs)
                ]

            sups = staff("sup-a", "supplier_staff", "Supplier", "s")
            dists = staff("dist-00", "distributor_staff", "Distributor", "d")
            s.add_all(sups + dists)
            await s.flush()
            s.add_all(Device(user_id=u.id, client_id="bench", platform="android") for u in sups + dists)
            convs = [
                Conversation(
                    kind="direct",
                    title="",
                    created_by=a.id,
                    direct_key=":".join(sorted([a.id, b.id])),
                    last_seq=0,
                )
                for a, b in zip(sups, dists, strict=True)
            ]
            s.add_all(convs)
            await s.flush()
            s.add_all(
                ConversationMember(conversation_id=c.id, user_id=u.id, role=role, last_read_seq=0)
                for c, a, b in zip(convs, sups, dists, strict=True)
                for u, role in ((a, "owner"), (b, "member"))
            )
    finally:
        await engine.dispose()


async def vacuum(target: Target) -> float:
    """``VACUUM ANALYZE`` the database a ``--seeded`` run measures on (PostgreSQL): what autovacuum
    does on a production server. Every run leaves a version of each conversation row and member
    row per message (neither update is HOT) and, when its servers stop before every socket's
    presence row is gone, those rows; where autovacuum is off (this project's machine) each run
    then started on a more bloated database than the last. Returns the seconds it took."""
    if not target.is_pg:
        return 0.0
    started = time.perf_counter()
    engine = target.engine()
    try:
        async with engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def seeded(target: Target) -> list[tuple[str, str, str]]:
    """The seeded conversations: (conversation id, supplier token, distributor token), tokens minted
    now (HMAC, no password check) so a seed made earlier is measured with fresh tokens."""
    from sqlalchemy import select

    from backend.config import load_settings
    from backend.db import make_session_factory
    from backend.identity import Device, User
    from backend.messaging.models import Conversation
    from fieldsync.simulation.server import SECRET
    from mobile_api.auth import issue_access_token

    settings = load_settings({}, env="test", database_url=target.url, secret_key=SECRET)
    engine = target.engine()
    try:
        async with make_session_factory(engine)() as s:
            device = {
                user_id: device_id
                for user_id, device_id in await s.execute(
                    select(Device.user_id, Device.id).join(User).where(User.username.like(f"{PREFIX}-%"))
                )
            }
            convs = list(
                await s.execute(
                    select(Conversation.id, Conversation.created_by, Conversation.direct_key)
                    .join(User, User.id == Conversation.created_by)
                    .where(User.username.like(f"{PREFIX}-s-%"))
                    .order_by(Conversation.id)
                )
            )
    finally:
        await engine.dispose()

    def token(user_id: str) -> str:
        return issue_access_token(settings, user_id=user_id, device_id=device[user_id])[0]

    out = []
    for conv_id, sup, key in convs:
        (dist,) = set(key.split(":")) - {sup}
        out.append((conv_id, token(sup), token(dist)))
    return out


# --- one load-generator process --------------------------------------------------------------


def client_main(cfg: dict[str, Any], pipe: Connection) -> None:
    """Child process: open the sockets of its conversations, then follow the parent's orders."""
    import asyncio

    asyncio.run(_client(cfg, pipe))


async def _client(cfg: dict[str, Any], pipe: Connection) -> None:  # noqa: C901 - one script
    import httpx
    import msgspec
    import websockets

    loop = asyncio.get_running_loop()
    convs: list[tuple[str, str, str, str, str]] = cfg["convs"]  # id, sup token, dist token, sup url, dist url
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    arrivals: list[float] = []  # when each latency was measured (perf_counter, shared by processes)
    acks: list[float] = []
    pongs: list[float] = []
    ping_at: dict[int, float] = {}
    errors = 0
    decode = msgspec.json.decode

    async def open_socket(url: str, token: str) -> Any:
        conn = await websockets.connect(
            url.replace("http://", "ws://") + "/ws",
            additional_headers={"Authorization": f"Bearer {token}"},
            max_queue=None,
            ping_interval=None,  # the server pings every socket (uvicorn, 20 s); a phone need not
            # what browsers and OkHttp offer (per-message deflate), or plain frames
            compression="deflate" if cfg["deflate"] else None,
        )
        assert decode(await conn.recv())["type"] == "ready"
        return conn

    async def listen(conn: Any, receiver: bool) -> None:
        nonlocal errors
        async for raw in conn:
            now = time.perf_counter()
            event = decode(raw)
            kind = event.get("type")
            if kind == "message":
                if receiver:
                    started = sent_at.pop(event["message"]["client_message_id"], None)
                    if started is not None:
                        latencies.append(now - started)
                        arrivals.append(now)
            elif kind == "sent":
                started = ack_at.pop(event["client_message_id"], None)
                if started is not None:
                    acks.append(now - started)
            elif kind == "pong":
                started = ping_at.pop(id(conn), None)
                if started is not None:
                    pongs.append(now - started)
            elif kind == "error":
                errors += 1

    ack_at: dict[str, float] = {}
    senders: list[Any] = []
    receivers: list[Any] = []
    pairs = [(c[1], c[3]) for c in convs] + [(c[2], c[4]) for c in convs]
    opened: list[Any] = []
    for i in range(0, len(pairs), 50):
        opened += await asyncio.gather(*(open_socket(url, tok) for tok, url in pairs[i : i + 50]))
    senders, receivers = opened[: len(convs)], opened[len(convs) :]
    tasks = [asyncio.create_task(listen(c, False)) for c in senders]
    tasks += [asyncio.create_task(listen(c, True)) for c in receivers]
    pipe.send("ready")

    async def order() -> Any:
        return await loop.run_in_executor(None, pipe.recv)

    async def ping_round(socks: list[Any], spacing: float) -> None:
        for conn in socks:
            ping_at[id(conn)] = time.perf_counter()
            await conn.send('{"type":"ping"}')
            await asyncio.sleep(spacing)

    cmd = await order()
    if cmd[0] == "ping":  # the idle raw floor, measured by one client while the others wait
        await ping_round(senders[: cmd[1]], 0.002)
        await asyncio.sleep(0.5)
        pipe.send(pongs[:])
        pongs.clear()
        cmd = await order()

    async def one_round(cmd: Any, round_no: int) -> dict[str, Any]:  # noqa: C901 - one script
        nonlocal errors
        errors = 0
        for kept in (sent_at, ack_at, ping_at):
            kept.clear()
        for kept in (latencies, arrivals, acks, pongs):
            kept.clear()
        _, start, rate, seconds, mode, concurrency = cmd
        total = int(rate * seconds)
        lag: list[float] = []
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)

        async def lag_probe() -> None:  # this process's own event-loop delay: is the client keeping up?
            while True:
                t = time.perf_counter()
                await asyncio.sleep(0.01)
                lag.append(time.perf_counter() - t - 0.01)

        async def load_pings() -> None:  # the raw round trip while the server is busy
            i = 0
            while True:
                await asyncio.sleep(0.1)
                conn = receivers[i % len(receivers)]
                i += 1
                if id(conn) not in ping_at:
                    ping_at[id(conn)] = time.perf_counter()
                    await conn.send('{"type":"ping"}')

        probes = [asyncio.create_task(lag_probe()), asyncio.create_task(load_pings())]
        http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency))
        gate = asyncio.Semaphore(concurrency)
        in_flight: set[asyncio.Task[None]] = set()

        async def send_http(n: int) -> None:
            nonlocal errors
            conv_id, sup_token, _, url, _ = convs[n % len(convs)]
            key = f"{cfg['run']}-r{round_no}-c{cfg['index']}-{n}"
            async with gate:
                sent_at[key] = time.perf_counter()
                try:
                    r = await http.post(
                        f"{url}/conversations/{conv_id}/messages",
                        json={"client_message_id": key, "body": f"bench {n}"},
                        headers={"Authorization": f"Bearer {sup_token}"},
                    )
                    ok = r.status_code == 201
                except httpx.HTTPError:
                    ok = False
            if not ok:
                errors += 1
                sent_at.pop(key, None)

        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        t0 = time.perf_counter()
        for n in range(total):
            delay = t0 + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if mode == "ws":
                key = f"{cfg['run']}-r{round_no}-c{cfg['index']}-{n}"
                conn = senders[n % len(convs)]
                sent_at[key] = ack_at[key] = time.perf_counter()
                frame = msgspec.json.encode(
                    {
                        "type": "send",
                        "conversation_id": convs[n % len(convs)][0],
                        "client_message_id": key,
                        "body": f"bench {n}",
                    }
                ).decode()
                await conn.send(frame)
            else:
                while len(in_flight) >= 4 * concurrency:  # the server sets the pace when slower
                    await asyncio.sleep(0.001)
                task = asyncio.create_task(send_http(n))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.gather(*in_flight)
        send_elapsed = time.perf_counter() - t0
        deadline = time.perf_counter() + 15
        while (sent_at or ack_at) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        for task in probes:
            task.cancel()
        await http.aclose()
        return {
            "sent": total,
            "errors": errors,
            "late": len(sent_at),
            # which receiving process the late ones were on (a deaf subscription shows as one URL)
            "late_by_server": _count(convs[int(k.rsplit("-", 1)[1]) % len(convs)][4] for k in sent_at),
            "send_elapsed": send_elapsed,
            "elapsed": elapsed,
            "latencies": latencies,
            "arrivals": arrivals,
            "acks": acks,
            "pongs_under_load": pongs,
            "loop_lag": lag,
            "cpu_s": cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime,
        }

    round_no = 0
    while cmd[0] == "go":  # one round per offered rate, over the same sockets
        pipe.send(await one_round(cmd, round_no))
        round_no += 1
        cmd = await order()  # the parent reads the servers' CPU before the next round or the close
    for task in tasks:
        task.cancel()
    await asyncio.gather(*(c.close() for c in opened), return_exceptions=True)


async def settle(
    servers: list[Server], cpu_share: float, window_s: float = 0.5, limit_s: float = 60.0
) -> float:
    """Wait until the servers finished what connecting the sockets started (presence rows,
    channel subscriptions): each uses under ``cpu_share`` of a core over ``window_s``. Returns
    the seconds it took (at most ``limit_s``)."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        before = [s.cpu_seconds() for s in servers]
        await asyncio.sleep(window_s)
        if all(s.cpu_seconds() - b < cpu_share * window_s for s, b in zip(servers, before, strict=True)):
            break
    return time.perf_counter() - started


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (all cores, /proc/stat), idle and iowait not."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


# --- the benchmark ---------------------------------------------------------------------------


async def measure(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    """Chat fan-out over real WebSockets (see the module docstring)."""
    pairs = max(1, args.sockets // 2)
    rates = [float(x) for x in str(args.rate).split(",")]
    started = time.perf_counter()
    if not args.seeded:
        await seed(target, pairs)
        log(f"seeded {pairs} conversations in {time.perf_counter() - started:.1f} s")
        if args.seed_only:
            return {"seeded_conversations": pairs, "seed_s": round(time.perf_counter() - started, 1)}
    vacuum_s = await vacuum(target) if args.seeded else None
    if vacuum_s is not None:
        log(f"VACUUM ANALYZE before measuring: {vacuum_s:.1f} s")
    convs = (await seeded(target))[:pairs]
    started = time.perf_counter()
    if len(convs) < pairs:
        raise SystemExit(f"--seeded: the database holds {len(convs)} conversations, not {pairs}")
    if args.fanout == "redis":
        redis_url = os.environ.get(REDIS_ENV)
        if not redis_url:
            raise SystemExit(f"--fanout redis needs {REDIS_ENV}")
        servers = [Server(target, redis_url=redis_url) for _ in range(args.servers)]
    else:
        servers = [Server(target, redis_url="")]
    ctx = multiprocessing.get_context("spawn")
    # Client message ids unique to this run: a send repeating an earlier run's id (a --seeded
    # database) is answered with the stored message and never broadcast again.
    run_id = os.urandom(4).hex()
    procs: list[Any] = []
    pipes: list[Connection] = []
    try:
        n = len(servers)
        placed = [
            (c, s, d, servers[i % n].url, servers[(i + 1) % n].url) for i, (c, s, d) in enumerate(convs)
        ]
        for k in range(args.clients):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=client_main,
                args=(
                    {"index": k, "run": run_id, "convs": placed[k :: args.clients], "deflate": args.deflate},
                    child,
                ),
            )
            proc.start()
            procs.append(proc)
            pipes.append(parent)

        async def recv(pipe: Connection) -> Any:
            return await asyncio.to_thread(pipe.recv)

        for pipe in pipes:
            if await recv(pipe) != "ready":
                raise RuntimeError("a load-generator process did not connect")
        took = time.perf_counter() - started
        log(f"{2 * pairs} sockets connected by {args.clients} processes in {took:.1f} s (servers started)")
        settled_s = await settle(servers, args.settle_cpu) if args.settle_cpu > 0 else None
        if settled_s is not None:
            log(f"servers settled after connecting in {settled_s:.1f} s")
        pipes[0].send(("ping", min(200, len(placed[:: args.clients]))))
        idle_pongs = await recv(pipes[0])
        rounds = []
        for rate in rates:
            cpu0, machine0 = sum(s.cpu_seconds() for s in servers), _machine_busy_s()
            start = time.perf_counter() + 0.5
            concurrency = max(1, args.concurrency // args.clients)
            for pipe in pipes:
                pipe.send(("go", start, rate / args.clients, args.seconds, args.send, concurrency))
            parts = [await recv(p) for p in pipes]
            cpu = sum(s.cpu_seconds() for s in servers) - cpu0  # connecting and closing not counted
            busy = _machine_busy_s() - machine0  # every process: PostgreSQL, Redis, clients, others
            rounds.append(_figures(args, len(servers), pairs, rate, start, parts, cpu, busy, idle_pongs))
            rounds[-1]["settled_after_connect_s"] = settled_s
            rounds[-1]["vacuum_analyze_s"] = None if vacuum_s is None else round(vacuum_s, 1)
            log(summarise("", rounds[-1]))
        for pipe in pipes:
            pipe.send(("close",))
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
        for s in servers:
            s.stop()
    return rounds[0] if len(rounds) == 1 else {"by_rate": rounds}


def _figures(  # noqa: PLR0913 - one round's inputs
    args: argparse.Namespace,
    servers: int,
    pairs: int,
    rate: float,
    start: float,
    parts: list[dict[str, Any]],
    cpu: float,
    machine_busy: float,
    idle_pongs: list[float],
) -> dict[str, Any]:
    """The figures of one round (one offered rate) from what the clients reported."""
    lat = [x for p in parts for x in p["latencies"]]
    acks = [x for p in parts for x in p["acks"]]
    sent = sum(p["sent"] for p in parts)
    errors = sum(p["errors"] for p in parts)
    elapsed = max(p["elapsed"] for p in parts)
    send_elapsed = max(p["send_elapsed"] for p in parts)
    by_second: dict[int, list[float]] = {}
    for p in parts:
        for at, x in zip(p["arrivals"], p["latencies"], strict=True):
            by_second.setdefault(int(at - start), []).append(x)
    raw = latency_ms(idle_pongs)
    delivered = latency_ms(lat)
    return {
        "fanout": args.fanout,
        "send": args.send,
        "servers": servers,
        "sockets": 2 * pairs,
        "conversations": pairs,
        "clients": args.clients,
        "deflate": args.deflate,
        "target_rate": rate,
        "sent": sent,
        "errors": errors,
        "late": sum(p["late"] for p in parts),  # stored, not yet delivered 15 s after the last send
        "late_by_server": {
            url: sum(p["late_by_server"].get(url, 0) for p in parts)
            for url in {u for p in parts for u in p["late_by_server"]}
        },
        "send_rate": round((sent - errors) / send_elapsed, 1),
        "delivered": len(lat),
        "delivered_per_s": round(len(lat) / elapsed, 1),
        "latency": delivered,
        "ack": latency_ms(acks) if acks else None,
        # p99 of the messages received in each second of the run: a stall shows as one bad second
        "latency_p99_ms_by_second": [latency_ms(by_second[k])["p99_ms"] for k in sorted(by_second)],
        "raw_ws_roundtrip": raw,
        "ws_roundtrip_under_load": latency_ms([x for p in parts for x in p["pongs_under_load"]]),
        "p99_over_raw_p99": ratio(delivered["p99_ms"], raw["p99_ms"]),
        "server_cpu_ms_per_message": round(cpu * 1000 / max(1, len(lat)), 3),
        "server_cpu_ms_per_1000": round(cpu * 1_000_000 / max(1, len(lat)), 1),
        "server_cpu_share": round(cpu / elapsed, 2),
        "machine_cpu_ms_per_message": round(machine_busy * 1000 / max(1, len(lat)), 3),
        "machine_busy_cores": round(machine_busy / elapsed, 2),
        "client_cpu_share": round(sum(p["cpu_s"] for p in parts) / elapsed, 2),
        "client_loop_lag": latency_ms([x for p in parts for x in p["loop_lag"]]),
        "machine": machine(),
    }


def summarise(backend: str, r: dict[str, Any]) -> str:
    if "by_rate" in r:
        return "\n  ".join(summarise(backend, one) for one in r["by_rate"])
    if "seeded_conversations" in r:
        return f"seeded {r['seeded_conversations']} conversations in {r['seed_s']} s (nothing measured)"
    lat, raw = r["latency"], r["raw_ws_roundtrip"]
    return (
        f"{r['fanout']}/{r['send']}: {r['delivered_per_s']} msg/s delivered of {r['target_rate']:g} offered "
        f"({r['errors']} errors, {r['late']} later than 15 s), "
        f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms; "
        f"raw WS p50 {raw['p50_ms']} / p99 {raw['p99_ms']} ms (under load p99 "
        f"{r['ws_roundtrip_under_load']['p99_ms']} ms); server CPU {r['server_cpu_ms_per_message']} ms/msg "
        f"({r['server_cpu_share']:.0%} of a core), clients {r['client_cpu_share']:.0%}, "
        f"client loop lag p99 {r['client_loop_lag']['p99_ms']} ms; machine {r['machine_busy_cores']} cores "
        f"busy, {r['machine_cpu_ms_per_message']} ms/msg, load {r['machine']['load_1m']}"
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sockets", type=int, default=1000)
    p.add_argument(
        "--rate",
        default="500",
        help="messages offered per second; several (500,250) are rounds over the same sockets",
    )
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--fanout", choices=["memory", "redis"], default="memory")
    p.add_argument("--servers", type=int, default=1, help="API processes (--fanout redis)")
    p.add_argument("--send", choices=["ws", "http"], default="ws", help="over the socket, or HTTP POST")
    p.add_argument("--clients", type=int, default=2, help="load-generator processes")
    p.add_argument(
        "--no-deflate",
        dest="deflate",
        action="store_false",
        help="clients do not offer per-message deflate (the server then sends plain frames)",
    )
    p.add_argument(
        "--settle-cpu",
        type=float,
        default=0.1,
        help="before the first round, wait until each server uses less than this share of a core"
        " (what connecting the sockets started is done); 0: start at once",
    )
    p.add_argument("--concurrency", type=int, default=16, help="HTTP sends in flight at most (all clients)")
    p.add_argument("--seed-only", action="store_true", help="seed --sockets / 2 conversations and stop")
    p.add_argument(
        "--seeded",
        action="store_true",
        help="measure on the database a --seed-only run left (not wiped; VACUUM ANALYZE first)",
    )


def raise_open_files() -> None:
    """Every socket is a descriptor in a client and in a server: lift the soft limit to the hard one
    (inherited by the servers and clients this starts), e.g. for ``--sockets 10000``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


if __name__ == "__main__":
    raise_open_files()
    sys.exit(run(Bench("fanout", measure, summarise, add_arguments, keep_database=lambda a: a.seeded)))
