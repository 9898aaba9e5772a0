"""Support console: the queue view with 10,000 tickets and search over 1,000,000 messages.

Seeding: the demo network (small), then ``--tickets`` support conversations and ``--messages``
messages spread over them, written directly (SQLAlchemy Core multi-row inserts on SQLite, where
the FTS5 triggers index every row as it is inserted; ``COPY`` on PostgreSQL with the GIN index
dropped and built again afterwards, as a bulk load would). Message text is drawn from a
vocabulary of 5,000 made-up words (Zipf-like frequencies), so some words are in a third of the
messages and some in a handful.

Measured against a real server process (``GET`` over loopback, one request at a time):
- the queue view, ``/support/tickets?view=open`` (100 rows, counts of every view), and
  ``view=all`` — p50/p95/p99 ms and server CPU ms per request;
- search, ``/support/search?q=…``, for rare, medium and common words — p50/p95 ms, server CPU;
- raw limit beside each: the same service call in-process (no HTTP, no auth), p50/p95 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _harness as h
import httpx
from sqlalchemy import insert, select, text

from backend.db import make_session_factory, new_id
from backend.identity import Actor, User
from backend.messaging import search, sla, views
from backend.messaging.models import Conversation, ConversationMember, Message

CUSTOMER_ROLES = ("distributor_staff", "field_staff")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=60, help="requests per measured query kind")
    parser.add_argument(
        "--state", type=Path, help="a folder that keeps the seeded SQLite file and the seeding figures"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--seed-only", action="store_true", help="wipe, seed into --state and stop (no timing)")
    mode.add_argument(
        "--migrate-only", action="store_true", help="bring the seeded databases to the newest migration"
    )
    mode.add_argument("--reuse", action="store_true", help="measure the databases --seed-only left")


def vocabulary(rng: random.Random, n: int = 5000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(4, 9))))
    return sorted(words)


def sentence(rng: random.Random, words: list[str], cum_weights: list[float]) -> str:
    return " ".join(rng.choices(words, cum_weights=cum_weights, k=rng.randint(6, 14)))


async def seed(target: h.Target, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(16)
    words = vocabulary(rng)
    weights = list(itertools.accumulate(1 / (i + 1) for i in range(len(words))))
    engine = target.engine()
    started = time.perf_counter()
    try:
        async with engine.connect() as conn:
            customers = [
                (u, o)
                for u, o in (
                    await conn.execute(select(User.id, User.org_id).where(User.role.in_(CUSTOMER_ROLES)))
                ).all()
            ]
            agent = (await conn.execute(select(User.id).where(User.username == "support"))).scalar_one()
        base = datetime.now(UTC) - timedelta(days=20)
        per = max(1, args.messages // args.tickets)
        convs, members = [], []
        for i in range(args.tickets):
            user, org = customers[i % len(customers)]
            opened = base + timedelta(seconds=i * 150)
            status = ("waiting", "claimed", "claimed", "resolved")[i % 4]
            convs.append(
                {
                    "id": new_id(), "kind": "support", "title": sentence(rng, words, weights)[:80],
                    "created_by": user, "created_at": opened, "last_seq": per,
                    "last_message_at": opened + timedelta(minutes=per), "customer_org_id": org,
                    "status": status, "assignee_id": agent if status != "waiting" else None,
                    "waiting_since": opened if i % 2 == 0 else None,
                    "first_response_due_at": opened + timedelta(hours=1),
                    "first_response_at": None if status == "waiting" else opened + timedelta(minutes=20),
                    "resolved_at": opened + timedelta(hours=3) if status == "resolved" else None,
                    "version": 1,
                }
            )  # fmt: skip
            members.append(
                {"id": new_id(), "conversation_id": convs[-1]["id"], "user_id": user, "role": "customer",
                 "joined_at": opened, "last_read_seq": per, "muted": False, "version": 1}
            )  # fmt: skip
            if status != "waiting":
                members.append(
                    {"id": new_id(), "conversation_id": convs[-1]["id"], "user_id": agent, "role": "agent",
                     "joined_at": opened, "last_read_seq": per - (i % 3), "muted": False, "version": 1}
                )  # fmt: skip
        async with engine.begin() as conn:
            for chunk in range(0, len(convs), 2000):
                await conn.execute(insert(Conversation.__table__), convs[chunk : chunk + 2000])
            for chunk in range(0, len(members), 2000):
                await conn.execute(insert(ConversationMember.__table__), members[chunk : chunk + 2000])
        tickets_s = time.perf_counter() - started

        def message_rows(lo: int, hi: int) -> list[tuple[Any, ...]]:
            rows = []
            for j in range(lo, hi):
                conv = convs[j % len(convs)]
                seq = j // len(convs) + 1
                sender = conv["created_by"] if seq % 2 or conv["assignee_id"] is None else conv["assignee_id"]
                at = conv["created_at"] + timedelta(minutes=seq)
                rows.append((new_id(), conv["id"], seq, sender, f"b{j}", sentence(rng, words, weights), at))
            return rows

        started = time.perf_counter()
        chunk = 20_000
        if target.is_pg:
            raw = await engine.raw_connection()
            try:
                pg = raw.driver_connection  # asyncpg
                await pg.execute("DROP INDEX IF EXISTS ix_messages_body_fts")
                for lo in range(0, args.messages, chunk):
                    await pg.copy_records_to_table(
                        "messages",
                        records=[
                            (*r[:6], "[]", None, r[6], None, None, 1)
                            for r in message_rows(lo, min(args.messages, lo + chunk))
                        ],
                        columns=["id", "conversation_id", "seq", "sender_id", "client_message_id", "body",
                                 "attachments", "meta", "created_at", "edited_at", "deleted_at", "version"],
                    )  # fmt: skip
                copy_s = time.perf_counter() - started
                await pg.execute(search.PG_INDEXES["ix_messages_body_fts"])
                await pg.execute("VACUUM ANALYZE")
            finally:
                raw.close()
            load = {
                "copy_s": round(copy_s, 1),
                "gin_index_s": round(time.perf_counter() - started - copy_s, 1),
            }
        else:
            table = Message.__table__
            async with engine.begin() as conn:
                for lo in range(0, args.messages, chunk):
                    rows = message_rows(lo, min(args.messages, lo + chunk))
                    await conn.execute(
                        insert(table),
                        [
                            {"id": r[0], "conversation_id": r[1], "seq": r[2], "sender_id": r[3],
                             "client_message_id": r[4], "body": r[5], "attachments": [], "created_at": r[6],
                             "version": 1}
                            for r in rows
                        ],
                    )  # fmt: skip
                await conn.execute(text("ANALYZE"))
            load = {"insert_with_fts_triggers_s": round(time.perf_counter() - started, 1)}
    finally:
        await engine.dispose()
    # words by how many messages hold them (counted on a sample of sentences)
    return {"tickets_s": round(tickets_s, 1), "messages_load": load, "words": words, "weights": weights}


async def _time_http(
    http: httpx.AsyncClient, server: h.Server, paths: list[str], headers: dict[str, str]
) -> dict[str, Any]:
    await http.get(paths[0], headers=headers)  # warm
    cpu0 = server.cpu_seconds()
    samples = []
    for path in paths:
        started = time.perf_counter()
        r = await http.get(path, headers=headers)
        samples.append(time.perf_counter() - started)
        assert r.status_code == 200, r.text[:200]
    cpu = server.cpu_seconds() - cpu0
    return {
        **h.latency_ms(samples),
        **_pctl(samples),
        "server_cpu_ms_per_request": round(cpu / len(paths) * 1000, 2),
    }


def _pctl(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(h.percentile(samples, 50) * 1000, 2),
        "p95_ms": round(h.percentile(samples, 95) * 1000, 2),
    }


async def seed_all(target: h.Target, args: argparse.Namespace) -> dict[str, Any]:
    seed_s = await h.seed_demo_network(target, terminals=20, skus=50)
    seeded = await seed(target, args)
    seeded.pop("words")
    seeded.pop("weights")
    return {"tickets": args.tickets, "messages": args.messages, "demo_seed_s": round(seed_s, 1), **seeded}


async def measure(target: h.Target, args: argparse.Namespace) -> dict[str, Any]:
    figures = await seed_all(target, args)
    return {**figures, **await timed(target, args)}


async def timed(target: h.Target, args: argparse.Namespace) -> dict[str, Any]:
    """The measured part, on a seeded database (the vocabulary is the seed's, from its fixed seed)."""
    words = vocabulary(random.Random(16))
    figures: dict[str, Any] = {"machine_before": h.machine()}
    rare, medium, common = words[-300:], words[200:400], words[:20]
    server = h.Server(target)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            token = await h.login(http, "support")
            headers = {"Authorization": f"Bearer {token}"}
            n = args.samples
            figures["queue_open"] = await _time_http(
                http, server, ["/support/tickets?view=open"] * n, headers
            )
            figures["queue_all"] = await _time_http(http, server, ["/support/tickets?view=all"] * n, headers)
            figures["queue_mine_page_20"] = await _time_http(
                http, server, ["/support/tickets?view=all&assignee=me&offset=2000"] * n, headers
            )
            rng = random.Random(7)
            for name, pool in (("rare", rare), ("medium", medium), ("common", common)):
                paths = [f"/support/search?q={rng.choice(pool)}" for _ in range(n)]
                figures[f"search_{name}"] = await _time_http(http, server, paths, headers)
            figures["search_two_words"] = await _time_http(
                http,
                server,
                [f"/support/search?q={rng.choice(medium)}+{rng.choice(medium)}" for _ in range(n)],
                headers,
            )
    finally:
        server.stop()
    # the raw limit: the same service calls in-process, no HTTP
    engine = target.engine()
    try:
        factory = make_session_factory(engine)
        async with factory() as s:
            agent = (await s.execute(select(User).where(User.username == "support"))).scalar_one()
            actor = Actor(user_id=agent.id, org_id=agent.org_id, org_kind="platform", role=agent.role)
            samples = []
            for _ in range(args.samples):
                started = time.perf_counter()
                await views.tickets(s, actor, view="open", limit=100)
                await views.counts(s, actor, views.Filters(), sla.now())
                samples.append(time.perf_counter() - started)
            figures["raw_queue_open"] = _pctl(samples)
            rng = random.Random(7)
            for name, pool in (("rare", rare), ("medium", medium), ("common", common)):
                samples, hits = [], []
                for _ in range(args.samples):
                    started = time.perf_counter()
                    hits.append(len(await search.search(s, rng.choice(pool))))
                    samples.append(time.perf_counter() - started)
                figures[f"raw_search_{name}"] = {
                    **_pctl(samples),
                    "mean_hits": round(sum(hits) / len(hits), 1),
                }
    finally:
        await engine.dispose()
    figures["machine"] = h.machine()
    return figures


def summarise(backend: str, f: dict[str, Any]) -> str:
    q, s = f["queue_open"], f
    raw = " / ".join(str(s[f"raw_search_{k}"]["p95_ms"]) for k in ("rare", "medium", "common"))
    return (
        f"{f['tickets']:,} tickets, {f['messages']:,} messages (load {f['messages_load']}): queue open p50 "
        f"{q['p50_ms']} ms p95 {q['p95_ms']} ms (server CPU {q['server_cpu_ms_per_request']} ms), all p50 "
        f"{f['queue_all']['p50_ms']} ms; search p95 rare {s['search_rare']['p95_ms']} / medium "
        f"{s['search_medium']['p95_ms']} / common {s['search_common']['p95_ms']} ms (raw {raw} ms); "
        f"load {f['machine']['load_1m']}"
    )


BENCH = h.Bench("console", measure, summarise, add_arguments)


def _kept_target(backend: str, state: Path) -> h.Target:
    """The database ``--seed-only`` left: the SQLite file under ``state``, PostgreSQL not wiped."""
    workdir = state / backend
    workdir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite+aiosqlite:///{workdir / 'fieldsync.db'}" if backend == "sqlite" else os.environ[h.PG_ENV]
    return h.Target(backend, url, workdir)


async def _analyse(target: h.Target) -> None:
    """Fresh statistics (and, on PostgreSQL, the visibility map for index-only scans) after a migration."""
    engine = target.engine()
    try:
        if target.is_pg:
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE"))
        else:
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


def staged(argv: list[str]) -> int:
    """``--seed-only`` / ``--migrate-only`` / ``--reuse``: seed (under the tests lock), then measure
    (under the bench lock) as separate runs, so the measured run is a minute, not ten."""
    parser = argparse.ArgumentParser(prog="bench/console.py")
    parser.add_argument("--db", choices=["all", "sqlite", "postgresql"], default="all")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.state is None:
        raise SystemExit("--seed-only, --migrate-only and --reuse need --state DIR")
    out: dict[str, Any] = {"bench": "console", "machine_before": h.machine(), "results": {}}
    for backend in h.backends(args.db):
        seeded = args.state / f"seeded-{backend}.json"
        if args.seed_only:
            target = h.fresh_target(backend, args.state / backend)
            figures = asyncio.run(seed_all(target, args))
            seeded.write_text(json.dumps(figures))
        else:
            target = _kept_target(backend, args.state)
            started = time.perf_counter()
            h.upgrade(target.url)
            asyncio.run(_analyse(target))
            figures = {**json.loads(seeded.read_text()), "migrate_s": round(time.perf_counter() - started, 1)}
            if args.reuse:
                figures.update(asyncio.run(timed(target, args)))
        out["results"][backend] = figures
    out["machine_after"] = h.machine()
    print(json.dumps(out, sort_keys=True), flush=True)
    if args.reuse:
        for backend, figures in out["results"].items():
            print(f"console [{backend}]: {summarise(backend, figures)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    argv = sys.argv[1:]
    if any(a in argv for a in ("--seed-only", "--migrate-only", "--reuse")):
        raise SystemExit(staged(argv))
    raise SystemExit(h.run(BENCH))
