"""Push: N phones push batches of 100 mutations over HTTP to a real server process.

Two variants on the same server: a field rep's mix (orders with lines, stock checks,
inspection answers, messages — whichever the server publishes) and ``stock_check.record``
alone. Figures: mutations/s applied with full rules, p50/p99 batch latency, the server's CPU
seconds per 1,000 mutations and its peak resident memory. Raw limit, same run: the rows the
push wrote (domain rows, change log, sync state) deleted and written again with SQLAlchemy
Core in as many transactions, from concurrent connections, without foreign-key checks.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter
from typing import Any

import _harness as h
import _mix as mix
import _rawcopy as rawcopy
import httpx
import msgspec
from _seeding import demo_handles
from sqlalchemy import select

from backend.catalog import ChannelAuthorisation, Product
from backend.db import make_session_factory, new_id
from backend.demo import SYSTEM
from backend.identity import Actor
from backend.identity import service as identity
from backend.identity.passwords import hash_password
from backend.inspections import service as inspections
from backend.messaging import service as messaging

MSGPACK = "application/msgpack"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--phones", type=int, default=50, help="simulated phones pushing at once")
    parser.add_argument("--batches", type=int, default=4, help="batches each phone pushes per variant")
    parser.add_argument("--batch-size", type=int, default=100, help="mutations per batch")
    parser.add_argument(
        "--solo-batches", type=int, default=50, help="batches the one phone pushes one after the other"
    )
    parser.add_argument(
        "--overhead-requests", type=int, default=300, help="empty pushes timed for the per-request cost"
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="ANALYZE the seeded database before pushing (a live database has planner statistics:"
        " autovacuum on PostgreSQL, PRAGMA optimize on SQLite)",
    )
    parser.add_argument(
        "--cases", default="solo,fleet", help="which cases to run: solo (one phone), fleet (--phones at once)"
    )
    kinds = ", ".join(k.name.split()[0] for k in mix.MIXED)
    parser.add_argument(
        "--mix",
        default="",
        help=f"the fleet's mixed variant with only these kinds of work, comma-separated ({kinds});"
        " default: all of them, by their weights",
    )


async def make_phones(target: h.Target, count: int) -> list[tuple[str, mix.World]]:
    """``count`` field reps (one per phone) spread over the distributors, with their world."""
    engine = target.engine()
    try:
        handles = await demo_handles(engine)
        async with make_session_factory(engine)() as session:
            authorised = await session.execute(
                select(ChannelAuthorisation.distributor_id, Product.id).join(
                    Product, Product.category_id == ChannelAuthorisation.category_id
                )
            )
            orderable: dict[str, list[str]] = {}
            for distributor_id, product_id in authorised:
                orderable.setdefault(distributor_id, []).append(product_id)
            shared = hash_password(h.DEMO_PASSWORD)
            out: list[tuple[str, mix.World]] = []
            for i in range(count):
                distributor = handles.distributors[i % len(handles.distributors)]
                user = await identity.create_user(
                    session,
                    org_id=distributor,
                    username=f"bench-rep-{i:03d}",
                    display_name=f"Bench Rep {i}",
                    role="field_staff",
                    password=h.DEMO_PASSWORD,
                    password_hash=shared,
                )
                terminals = handles.terminals_by_distributor.get(distributor, [])[:8]
                out.append(
                    (
                        user.username,
                        mix.World(
                            user_id=user.id,
                            distributor_id=distributor,
                            terminals=terminals,
                            products=orderable.get(distributor, []),
                            suppliers=handles.suppliers,
                        ),
                    )
                )
            await _pair_team_chats(session, out)
            await _visit_checklists(session, out)
            await session.commit()
        await assign_routes(target, out)
        return out
    finally:
        await engine.dispose()


async def _pair_team_chats(session: Any, phones: list[tuple[str, mix.World]]) -> None:
    """Give each rep a chat with another rep of the same distributor (messages in the mix go there)."""
    by_distributor: dict[str, list[mix.World]] = {}
    for _username, world in phones:
        by_distributor.setdefault(world.distributor_id, []).append(world)
    for worlds in by_distributor.values():
        for n, world in enumerate(worlds):
            partner = worlds[(n + 1) % len(worlds)]
            if partner is world:
                continue  # a lone rep has nobody to write to; its mix has no messages
            rep = Actor(
                user_id=world.user_id, org_id=world.distributor_id, org_kind="distributor", role="field_staff"
            )
            chat = await messaging.create_conversation(
                session, rep, kind="group", member_ids=[world.user_id, partner.user_id], title="Team chat"
            )
            world.conversation_id = chat.id


async def _visit_checklists(session: Any, phones: list[tuple[str, mix.World]]) -> None:
    """One store-visit checklist per distributor, for the inspections in the mix."""
    templates: dict[str, str] = {}
    for _username, world in phones:
        if world.distributor_id not in templates:
            template = await inspections.create_template(
                session,
                SYSTEM,
                owner_id=world.distributor_id,
                title="Bench visit",
                questions=mix.VISIT_QUESTIONS,
            )
            templates[world.distributor_id] = template.id
        world.template_id = templates[world.distributor_id]


async def assign_routes(target: h.Target, phones: list[tuple[str, mix.World]]) -> None:
    """Put each rep's terminals on their route (when the territory model exists)."""
    try:
        from backend.territory import RouteAssignment
    except ImportError:
        return
    engine = target.engine()
    try:
        async with make_session_factory(engine)() as session:
            for _username, world in phones:
                for terminal in world.terminals:
                    session.add(
                        RouteAssignment(
                            user_id=world.user_id, terminal_id=terminal, distributor_id=world.distributor_id
                        )
                    )
            await session.commit()
    finally:
        await engine.dispose()


class PhoneSession:
    """One phone pushing prebuilt envelopes (the reference client's protocol, minus its replica)."""

    def __init__(self, http: httpx.AsyncClient, token: str, client_id: str, world: mix.World) -> None:
        self.http = http
        self.client_id = client_id
        self.world = world
        self.seq = 0
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": MSGPACK,
            "Accept": MSGPACK,
        }

    def envelope(self, mutations: list[mix.Mutation]) -> bytes:
        items = []
        for name, args in mutations:
            self.seq += 1
            items.append({"id": new_id(), "seq": self.seq, "name": name, "args": args})
        return msgspec.msgpack.encode({"client_id": self.client_id, "protocol": 1, "mutations": items})

    async def push(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """(HTTP status, decoded reply). A failed batch is counted by the caller, not raised:
        errors under load are a finding of the benchmark."""
        response = await self.http.post("/sync/v1/push", content=body, headers=self.headers)
        if response.status_code != 200:
            return response.status_code, {"results": [], "error": response.text[:300]}
        return 200, msgspec.msgpack.decode(response.content)


async def run_variant(
    target: h.Target,
    server: h.Server,
    phones: list[PhoneSession],
    kinds: list[mix.Kind],
    args: argparse.Namespace,
    rng: random.Random,
    batches_each: int | None = None,
) -> dict[str, Any]:
    """Every phone pushes ``batches_each`` (``args.batches``) batches one after the other, all
    phones at once; then the raw rewrite."""
    # Envelopes are built before the clock starts: the figures are the server's, not the encoder's.
    size = args.batch_size
    each = args.batches if batches_each is None else batches_each
    bodies = [[p.envelope(mix.batch(kinds, p.world, rng, size)) for _ in range(each)] for p in phones]
    engine = target.engine()
    try:
        before = await rawcopy.snapshot(engine)
    finally:
        await engine.dispose()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    failures: Counter[str] = Counter()

    async def phone_day(phone: PhoneSession, queue: list[bytes]) -> None:
        for body in queue:
            started = time.perf_counter()
            status, reply = await phone.push(body)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                failures[f"HTTP {status}"] += 1
                h.log(f"push failed: HTTP {status} {reply['error'][:120]}")
            for result in reply["results"]:
                statuses[result["status"]] += 1
                if result["status"] != "applied":
                    codes[f"{result['status']}:{result.get('code')}"] += 1

    cpu_before = server.cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(phone_day(p, q) for p, q in zip(phones, bodies, strict=True)))
    wall = time.perf_counter() - started
    cpu = server.cpu_seconds() - cpu_before
    mutations = sum(statuses.values())
    applied = statuses["applied"]

    engine = target.engine()
    try:
        rows = await rawcopy.new_rows(engine, before)
        await rawcopy.delete_rows(engine, rows)
    finally:
        await engine.dispose()
    batches = len(phones) * each
    # This process's CPU (its threads: aiosqlite's runs SQLite itself) for the same rows: the raw
    # limit of the server's CPU per 1,000 (on PostgreSQL neither side counts the database's).
    raw_cpu_before = time.process_time()
    raw_s = await rawcopy.rewrite(target.url, rows, transactions=batches, writers=min(len(phones), 10))
    raw_cpu = time.process_time() - raw_cpu_before
    raw_mutations_per_s = mutations / raw_s if raw_s else 0.0
    applied_per_s = applied / wall
    return {
        "kinds": [k.name for k in kinds],
        "phones": len(phones),
        "batches": batches,
        "mutations": mutations,
        "statuses": dict(statuses),
        "not_applied": dict(codes.most_common(8)),
        "failed_batches": dict(failures),
        "seconds": round(wall, 3),
        "applied_per_s": round(applied_per_s, 1),
        "batch_latency": h.latency_ms(latencies),
        "server_cpu_s": round(cpu, 2),
        "server_cpu_ms_per_1000": round(cpu / mutations * 1e6, 1) if mutations else 0.0,
        "server_cpu_s_per_1000": round(cpu / mutations * 1e3, 3) if mutations else 0.0,
        "rows_written": rawcopy.total(rows),
        "rows_by_table": {t: len(r) for t, r in rows.items()},
        "raw_seconds": round(raw_s, 3),
        "raw_mutations_per_s": round(raw_mutations_per_s, 1),
        "raw_rows_per_s": round(rawcopy.total(rows) / raw_s, 1) if raw_s else 0.0,
        "raw_cpu_s_per_1000": round(raw_cpu / mutations * 1e3, 3) if mutations else 0.0,
        "ratio_to_raw": h.ratio(applied_per_s, raw_mutations_per_s),
    }


async def request_overhead(server: h.Server, phone: PhoneSession, requests: int) -> dict[str, Any]:
    """What a push costs apart from its mutations: ``requests`` empty batches, one after the other
    (sign-in check, rate limits, decoding, the transaction and sync bookkeeping, the reply)."""
    body = phone.envelope([])
    latencies = []
    cpu_before = server.cpu_seconds()
    for _ in range(requests):
        started = time.perf_counter()
        status, reply = await phone.push(body)
        latencies.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"empty push failed: HTTP {status} {reply['error'][:200]}")
    cpu = server.cpu_seconds() - cpu_before
    return {
        "requests": requests,
        "latency": h.latency_ms(latencies),
        "server_cpu_ms_per_request": round(cpu / requests * 1000, 3) if requests else 0.0,
    }


async def measure(target: h.Target, args: argparse.Namespace) -> dict[str, Any]:
    """Mixed and stock-check-only pushes from ``--phones`` phones, beside the raw rewrite."""
    figures: dict[str, Any] = {"seed_demo_s": round(await h.seed_demo_network(target), 1)}
    worlds = await make_phones(target, args.phones)
    if args.analyze:
        figures["analyze_s"] = round(await h.analyze(target), 2)
    rng = random.Random(5)
    with h.Server(target) as server:
        limits = httpx.Limits(max_connections=args.phones, max_keepalive_connections=args.phones)
        async with httpx.AsyncClient(base_url=server.url, timeout=300, limits=limits) as http:
            schema = (await http.get("/sync/v1/schema")).json()
            available = set(schema.get("mutations", {}))
            phones = []
            for i, (username, world) in enumerate(worlds):
                token = await h.login(http, username, client_id=f"bench-phone-{i:03d}")
                phones.append(PhoneSession(http, token, f"bench-phone-{i:03d}", world))
            # Warm up: one small batch each (sync state rows, caches, connection pool).
            warm = mix.usable(mix.MIXED, available)
            await asyncio.gather(*(p.push(p.envelope(mix.batch(warm, p.world, rng, 5))) for p in phones))
            cases = set(args.cases.split(","))
            if "solo" in cases:
                # One phone, batches one after the other (the phone waits for each reply).
                chosen = mix.usable(mix.STOCK_ONLY, available)
                h.log(f"one phone: {args.solo_batches} batches of {args.batch_size} stock checks, sequential")
                figures["one_phone"] = await run_variant(
                    target, server, phones[:1], chosen, args, rng, batches_each=args.solo_batches
                )
                figures["empty_push"] = await request_overhead(server, phones[0], args.overhead_requests)
            mixed = mix.only(mix.MIXED, args.mix)
            for variant, kinds in (("mixed", mixed), ("stock_check", mix.STOCK_ONLY)):
                if "fleet" not in cases:
                    break
                chosen = mix.usable(kinds, available)
                if not chosen:
                    figures[variant] = {"skipped": "the server publishes none of these mutations"}
                    continue
                h.log(f"{variant}: {args.phones} phones × {args.batches} batches of {args.batch_size}")
                figures[variant] = await run_variant(target, server, phones, chosen, args, rng)
        figures["server_peak_rss_mib"] = round(server.peak_rss_mib(), 1)
        figures["server_baseline_rss_mib"] = round(server.baseline_rss_mib, 1)
    return figures


def summarise(backend: str, f: dict[str, Any]) -> str:
    parts = []
    for variant in ("one_phone", "mixed", "stock_check"):
        v = f.get(variant, {})
        if "skipped" in v or not v:
            parts.append(f"{variant}: skipped")
            continue
        parts.append(
            f"{variant} ({', '.join(v['kinds'])}): {v['applied_per_s']:,} applied/s "
            f"({v['ratio_to_raw']:.1%} of raw {v['raw_mutations_per_s']:,}/s), batch p50 "
            f"{v['batch_latency']['p50_ms']} ms p99 {v['batch_latency']['p99_ms']} ms, "
            f"{v['server_cpu_ms_per_1000']} server CPU ms per 1,000 (raw "
            f"{v['raw_cpu_s_per_1000'] * 1000:.0f}); statuses {v['statuses']}"
            + (f"; FAILED batches {v['failed_batches']}" if v["failed_batches"] else "")
        )
    if "empty_push" in f:
        e = f["empty_push"]
        parts.append(
            f"empty push ({e['requests']} requests): {e['server_cpu_ms_per_request']} server CPU ms "
            f"per request, p50 {e['latency']['p50_ms']} ms"
        )
    parts.append(f"server peak RSS {f['server_peak_rss_mib']} MiB")
    return "\n    ".join(parts)


def lines(out: dict[str, Any]) -> list[dict[str, Any]]:
    """One JSON line per case: the one phone, then the fleet (each with its raw limit)."""
    split = []
    for case, variants in (("one_phone", ("one_phone", "empty_push")), ("fleet", ("mixed", "stock_check"))):
        results = {}
        for backend, figures in out["results"].items():
            if "error" in figures:
                results[backend] = figures
                continue
            picked = {v: figures[v] for v in variants if v in figures}
            if picked:
                shared_keys = ("server_peak_rss_mib", "server_baseline_rss_mib", "seed_demo_s")
                shared = {k: figures[k] for k in shared_keys}
                results[backend] = {**picked, **shared}
        if results:
            split.append({**out, "case": case, "results": results})
    return split


BENCH = h.Bench("push", measure, summarise, add_arguments, lines=lines)

if __name__ == "__main__":
    raise SystemExit(h.run(BENCH))
