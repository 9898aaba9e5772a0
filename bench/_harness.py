"""What every benchmark shares: databases, a real server process, figures, one JSON line.

A benchmark is a script ``bench/<name>.py`` whose ``main`` calls :func:`run` with a coroutine
``measure(target) -> dict`` run once per database (SQLite always; PostgreSQL when
``FIELDSYNC_TEST_DATABASE_URL`` is set, or as chosen with ``--db``). The figures of all runs
go to stdout as one JSON line (or one per case, when the benchmark splits them: see
``Bench.lines``); a short human summary goes to stderr.

Each benchmark measures the raw limit in the same run (the same rows written or read by the
database directly, no HTTP, no rules) and reports figures as absolute values and as a ratio
to that limit (:func:`ratio`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as ``python bench/x.py`` from anywhere
    sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from backend.db import make_engine, make_session_factory  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from fieldsync.simulation.server import ServerProcess  # noqa: E402

PG_ENV = "FIELDSYNC_TEST_DATABASE_URL"
DEMO_PASSWORD = "fieldsync-demo"


def log(message: str) -> None:
    print(f"  · {message}", file=sys.stderr, flush=True)


# --- databases ---------------------------------------------------------------------------


@dataclass
class Target:
    """One database a benchmark runs against, with a scratch folder for its server."""

    backend: str  # "sqlite" | "postgresql"
    url: str
    workdir: Path

    @property
    def is_pg(self) -> bool:
        return self.backend == "postgresql"

    def engine(self, pool_size: int = 10) -> AsyncEngine:
        return make_engine(self.url, pool_size=pool_size)


def _pg_reset(url: str) -> None:
    import asyncpg

    u = make_url(url)

    async def go() -> None:
        kwargs = {
            "host": u.host or "127.0.0.1",
            "port": u.port or 5432,
            "user": u.username or "postgres",
            "password": u.password,
        }
        try:
            conn = await asyncpg.connect(database=u.database, **kwargs)
        except asyncpg.InvalidCatalogNameError:
            admin = await asyncpg.connect(database="postgres", **kwargs)
            await admin.execute(f'CREATE DATABASE "{u.database}"')
            await admin.close()
            conn = await asyncpg.connect(database=u.database, **kwargs)
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await conn.close()

    asyncio.run(go())


def fresh_target(backend: str, workdir: Path, *, wipe: bool = True) -> Target:
    """An empty database at the newest migration (the PostgreSQL one is wiped first, unless
    ``wipe`` is false: a benchmark measuring what an earlier run of it seeded)."""
    workdir.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'fieldsync.db'}"
    else:
        url = os.environ[PG_ENV]
        if wipe:
            _pg_reset(url)
    upgrade(url)
    return Target(backend, url, workdir)


async def seed_demo_network(
    target: Target, *, terminals: int = 300, skus: int = 1000, activity: bool = False
) -> float:
    """Seed the demo network (as ``fieldsync demo-seed``); returns the seconds it took."""
    from backend.demo import seed_demo

    started = time.perf_counter()
    engine = target.engine()
    try:
        async with make_session_factory(engine)() as session:
            await seed_demo(session, terminals=terminals, skus=skus, activity=activity)
            await session.commit()
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def analyze(target: Target) -> float:
    """``ANALYZE`` the whole database (planner statistics); returns the seconds it took."""
    started = time.perf_counter()
    engine = target.engine()
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()
    return time.perf_counter() - started


# --- the server process -------------------------------------------------------------------


PROFILE_DIR: Path | None = None  # set by ``--profile DIR``: every server is sampled by py-spy


class Server(ServerProcess):
    """A server process on ``target``'s database (see :mod:`fieldsync.simulation.server`).

    With ``--profile DIR`` py-spy samples it for its whole life; on stop the collapsed stacks
    go to ``DIR/<bench>-<backend>-<port>.txt`` and the top frames to stderr.
    """

    def __init__(self, target: Target, *, database_url: str | None = None, **settings: Any) -> None:
        # database_url: the same database by another way (say, through PgBouncer)
        super().__init__(database_url or target.url, target.workdir, **settings)
        self.profile_path: Path | None = None
        self._spy: subprocess.Popen[bytes] | None = None
        if PROFILE_DIR is not None:
            PROFILE_DIR.mkdir(parents=True, exist_ok=True)
            self.profile_path = PROFILE_DIR / f"{target.backend}-{self.port}.txt"
            spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            self._spy = subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(self.proc.pid),
                    "--gil",
                    "--rate",
                    os.environ.get("FIELDSYNC_BENCH_PYSPY_RATE", "200"),
                    "--format",
                    "raw",
                    "--output",
                    str(self.profile_path),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def stop(self) -> None:
        if self._spy is not None:
            self._spy.send_signal(signal.SIGINT)
            try:
                self._spy.wait(30)
            except subprocess.TimeoutExpired:
                self._spy.kill()
            self._spy = None
        super().stop()
        if self.profile_path is not None and self.profile_path.exists():
            print(top_frames(self.profile_path), file=sys.stderr)


def top_frames(collapsed: Path, n: int = 25) -> str:
    """The frames with the most samples (inclusive) in a py-spy ``raw`` (collapsed) profile,
    restricted to fieldsync's own packages and the libraries they call first."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + samples
        own[frames[-1]] = own.get(frames[-1], 0) + samples
    ours = ("backend/", "sync/", "mobile_api/", "workers/", "fieldsync/")
    rows = sorted(((c, f) for f, c in inclusive.items() if any(o in f for o in ours)), reverse=True)[:n]
    hot = sorted(((c, f) for f, c in own.items()), reverse=True)[:20]
    lines = [f"profile {collapsed} — {total} samples; inclusive, fieldsync frames:"]
    lines += [f"  {c / total:6.1%}  {f}" for c, f in rows]
    lines.append("self time, any frame:")
    lines += [f"  {c / total:6.1%}  {f}" for c, f in hot]
    return "\n".join(lines)


async def login(http: Any, username: str, *, client_id: str = "bench", password: str = DEMO_PASSWORD) -> str:
    """Sign in over HTTP; returns the access token."""
    response = await http.post(
        "/auth/login",
        json={"username": username, "password": password, "client_id": client_id, "platform": "android"},
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


# --- figures --------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of ``values``; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency_ms(samples_s: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(samples_s, 50) * 1000, 2),
        "p99_ms": round(percentile(samples_s, 99) * 1000, 2),
        "max_ms": round(max(samples_s, default=0.0) * 1000, 2),
        "n": len(samples_s),
    }


def ratio(value: float, limit: float) -> float:
    """``value`` as a fraction of the raw ``limit`` (rounded; 0 when the limit is unknown)."""
    return round(value / limit, 4) if limit else 0.0


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def machine() -> dict[str, Any]:
    """Where the figures come from: the load on the machine matters on a shared box."""
    load1, load5, _ = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_1m": round(load1, 2),
        "load_5m": round(load5, 2),
    }


# --- running ----------------------------------------------------------------------------------

Measure = Callable[[Target, argparse.Namespace], Awaitable[dict[str, Any]]]
Summarise = Callable[[str, dict[str, Any]], str]


@dataclass
class Bench:
    name: str
    measure: Measure
    summarise: Summarise
    add_arguments: Callable[[argparse.ArgumentParser], None] = lambda _p: None
    notes: dict[str, Any] = field(default_factory=dict)
    # Splits the run's figures into several JSON lines (one per case); default: one line.
    lines: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None
    # True for a run that measures the PostgreSQL data an earlier run seeded (not wiped first).
    keep_database: Callable[[argparse.Namespace], bool] = lambda _a: False


def backends(choice: str) -> list[str]:
    have_pg = bool(os.environ.get(PG_ENV))
    if choice == "sqlite":
        return ["sqlite"]
    if choice == "postgresql":
        if not have_pg:
            raise SystemExit(f"--db postgresql needs {PG_ENV}")
        return ["postgresql"]
    return ["sqlite", "postgresql"] if have_pg else ["sqlite"]


def run(bench: Bench, argv: Sequence[str] | None = None) -> int:
    """Parse arguments, measure on each database, print one JSON line and a summary."""
    parser = argparse.ArgumentParser(prog=f"bench/{bench.name}.py", description=(bench.measure.__doc__ or ""))
    parser.add_argument("--db", choices=["all", "sqlite", "postgresql"], default="all")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, SQLite file)")
    parser.add_argument("--profile", type=Path, help="sample each server with py-spy into this folder")
    bench.add_arguments(parser)
    args = parser.parse_args(argv)
    global PROFILE_DIR
    PROFILE_DIR = args.profile
    scratch = Path(tempfile.mkdtemp(prefix=f"fieldsync-bench-{bench.name}-"))
    out: dict[str, Any] = {"bench": bench.name, "machine_before": machine(), "results": {}}
    started = time.perf_counter()
    try:
        for backend in backends(args.db):
            print(f"== {bench.name} on {backend}", file=sys.stderr, flush=True)
            keep = backend == "postgresql" and bench.keep_database(args)
            target = fresh_target(backend, scratch / backend, wipe=not keep)
            try:
                out["results"][backend] = asyncio.run(bench.measure(target, args))
            except Exception as exc:  # one failing backend must not hide the other's figures
                import traceback

                traceback.print_exc()
                out["results"][backend] = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            print(f"scratch kept in {scratch}", file=sys.stderr)
    out["machine_after"] = machine()
    out["seconds"] = round(time.perf_counter() - started, 1)
    out.update(bench.notes)
    for line in bench.lines(out) if bench.lines is not None else [out]:
        print(json.dumps(line, sort_keys=True), flush=True)
    for backend, figures in out["results"].items():
        if "error" in figures:
            print(f"{bench.name} [{backend}]: FAILED {figures['error']}", file=sys.stderr)
        else:
            print(f"{bench.name} [{backend}]: {bench.summarise(backend, figures)}", file=sys.stderr)
    return 1 if any("error" in f for f in out["results"].values()) else 0
