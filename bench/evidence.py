"""Evidence log: append and proof times with 100,000 entries already in the log.

The log is filled to ``--entries`` with rows exactly as ``append_record`` writes them (computed in
memory and bulk-inserted, so filling is quick), then measured with the real service functions:
- append: one ``append_record`` per transaction (as when a record is finalised), p50/p99 and per s;
  raw limit: the same three rows (entry + ~2 tree nodes) inserted directly, one transaction each;
- inclusion proof of a random entry and consistency proof between random sizes (O(log n) node reads);
- offline verification of the whole log (``fieldsync evidence verify``), entries/s.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import _harness as h
from sqlalchemy import insert

from backend.db import make_session_factory
from backend.evidence import merkle
from backend.evidence import service as evidence
from backend.evidence.canonical import ZERO_HASH, canonical_json, leaf_bytes
from backend.evidence.models import EvidenceEntry, EvidenceNode
from backend.evidence.verify import verify_log
from backend.media.storage import LocalStorage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--entries", type=int, default=100_000, help="log size to measure at")
    parser.add_argument("--samples", type=int, default=200, help="appends and proofs to time")


def document(i: int) -> dict[str, Any]:
    return {
        "acceptance": i,
        "lines": [{"sku": f"SKU-{i % 977:04d}", "ordered": 12, "accepted": 11, "short": 1}],
    }


def fill_rows(n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tree = merkle.MerkleTree()
    prev, entries = ZERO_HASH, []
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(n):
        doc = canonical_json(document(i)).decode()
        photos = "[]"  # photos would be re-hashed by verification; only the log's own work is measured
        at = start + timedelta(milliseconds=i)
        fields = dict(
            index=i,
            record_type="bench",
            record_id=f"r{i}",
            kind="record",
            document=doc,
            photo_hashes=photos,
            prev_hash=prev,
            logged_at=at,
        )
        leaf = merkle.leaf_hash(leaf_bytes(**fields))
        tree.append(leaf)
        prev = leaf.hex()
        entries.append({**fields, "leaf_hash": prev, "tree_root": tree.root().hex()})
    nodes = [
        {"level": level, "idx": idx, "hash": value}
        for level, hashes in enumerate(tree._levels)
        for idx, value in enumerate(hashes)
    ]
    return entries, nodes


async def measure(target: h.Target, args: argparse.Namespace) -> dict[str, Any]:
    engine = target.engine()
    factory = make_session_factory(engine)
    rng = random.Random(7)
    figures: dict[str, Any] = {"entries": args.entries}
    try:
        watch = h.Stopwatch()
        entries, nodes = fill_rows(args.entries)
        figures["fill_compute_s"] = round(watch.elapsed, 1)
        async with factory() as session:
            for rows, model in ((entries, EvidenceEntry), (nodes, EvidenceNode)):
                for start in range(0, len(rows), 5000):
                    await session.execute(insert(model), rows[start : start + 5000])
            await session.commit()
        figures["fill_total_s"] = round(watch.elapsed, 1)
        h.log(f"log filled to {args.entries:,} entries in {figures['fill_total_s']} s")

        samples: list[float] = []
        for i in range(args.samples):
            started = time.perf_counter()
            async with factory() as session:
                await evidence.append_record(
                    session, record_type="bench", record_id=f"new{i}", document=document(i), photo_hashes=[]
                )
                await session.commit()
            samples.append(time.perf_counter() - started)
        append = h.latency_ms(samples)
        raw: list[float] = []
        for i in range(args.samples):
            row = {**entries[i], "index": 10**9 + i}
            started = time.perf_counter()
            async with factory() as session:
                await session.execute(insert(EvidenceEntry), [row])
                await session.execute(
                    insert(EvidenceNode),
                    [{"level": 40, "idx": 2 * i + k, "hash": b"\0" * 32} for k in range(2)],
                )
                await session.commit()
            raw.append(time.perf_counter() - started)
        raw_lat = h.latency_ms(raw)
        async with factory() as session:  # take the raw rows out again
            from sqlalchemy import delete

            await session.execute(delete(EvidenceEntry).where(EvidenceEntry.index >= 10**9))
            await session.execute(delete(EvidenceNode).where(EvidenceNode.level == 40))
            await session.commit()
        figures["append"] = {
            **append,
            "per_s": round(len(samples) / sum(samples), 1),
            "raw": raw_lat,
            "p50_ratio_to_raw": h.ratio(raw_lat["p50_ms"], append["p50_ms"]),
        }

        size = args.entries + args.samples
        inclusion, consistency = [], []
        async with factory() as session:
            for _ in range(args.samples):
                index = rng.randrange(size)
                started = time.perf_counter()
                await evidence.inclusion_proof(session, index, size)
                inclusion.append(time.perf_counter() - started)
                first = rng.randrange(1, size)
                started = time.perf_counter()
                await evidence.consistency_proof(session, first, size)
                consistency.append(time.perf_counter() - started)
        figures["inclusion_proof"] = h.latency_ms(inclusion)
        figures["consistency_proof"] = h.latency_ms(consistency)

        async with factory() as session:
            started = time.perf_counter()
            report = await verify_log(session, LocalStorage(target.workdir / "media"), None)
            elapsed = time.perf_counter() - started
        assert report.ok, report.failure
        figures["verify"] = {"s": round(elapsed, 2), "entries_per_s": round(report.entries / elapsed)}
    finally:
        await engine.dispose()
    return figures


def summarise(backend: str, f: dict[str, Any]) -> str:
    a, inc, con, ver = f["append"], f["inclusion_proof"], f["consistency_proof"], f["verify"]
    return (
        f"at {f['entries']:,} entries: append p50 {a['p50_ms']} ms p99 {a['p99_ms']} ms ({a['per_s']}/s, "
        f"one per transaction; raw insert of the same rows p50 {a['raw']['p50_ms']} ms); inclusion proof "
        f"p50 {inc['p50_ms']} ms p99 {inc['p99_ms']} ms; consistency proof p50 {con['p50_ms']} ms p99 "
        f"{con['p99_ms']} ms; verify of the whole log {ver['s']} s ({ver['entries_per_s']:,} entries/s)"
    )


BENCH = h.Bench("evidence", measure, summarise, add_arguments)

if __name__ == "__main__":
    raise SystemExit(h.run(BENCH))
