"""The raw write limit of a push run: the rows it wrote, written again by SQLAlchemy Core.

Before the run, :func:`snapshot` notes every table's primary keys. After it, :func:`new_rows`
reads the rows the run added (orders, lines, stock checks, change log, sync state…),
:func:`delete_rows` removes them, and :func:`rewrite` inserts exactly the same rows again in
as many transactions as the run had batches, from concurrent connections, with foreign-key
checks off — no HTTP, no validation, no rules. The ratio of the two rates says what
the sync engine and the domain rules cost on top of the database.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, event, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backend.db import make_engine
from backend.models import metadata

Key = tuple[Any, ...]


@dataclass
class Snapshot:
    keys: dict[str, set[Key]] = field(default_factory=dict)


def _pk(table: Table) -> list[Any]:
    return list(table.primary_key.columns)


async def snapshot(engine: AsyncEngine) -> Snapshot:
    snap = Snapshot()
    async with engine.connect() as conn:
        for table in metadata.sorted_tables:
            cols = _pk(table)
            if not cols:
                continue
            snap.keys[table.name] = {tuple(r) for r in (await conn.execute(select(*cols))).all()}
    return snap


async def new_rows(engine: AsyncEngine, before: Snapshot) -> dict[str, list[dict[str, Any]]]:
    """Rows present now whose primary key was not there at ``before``, per table (FK order)."""
    out: dict[str, list[dict[str, Any]]] = {}
    async with engine.connect() as conn:
        for table in metadata.sorted_tables:
            cols = _pk(table)
            if not cols or table.name not in before.keys:
                continue
            old = before.keys[table.name]
            rows = [
                dict(r._mapping)
                for r in (await conn.execute(select(table))).all()
                if tuple(r._mapping[c.name] for c in cols) not in old
            ]
            if rows:
                out[table.name] = rows
    return out


async def delete_rows(engine: AsyncEngine, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Remove ``rows`` (children first)."""
    async with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            batch = rows.get(table.name)
            if not batch:
                continue
            cols = _pk(table)
            keys = [tuple(r[c.name] for c in cols) for r in batch]
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                cond = cols[0].in_([k[0] for k in chunk]) if len(cols) == 1 else tuple_(*cols).in_(chunk)
                await conn.execute(delete(table).where(cond))


def total(rows: dict[str, list[dict[str, Any]]]) -> int:
    return sum(len(v) for v in rows.values())


def raw_engine(url: str, pool_size: int) -> AsyncEngine:
    """An engine like the server's, but without foreign-key checks: the raw limit has no rules."""
    if not url.startswith("sqlite"):
        # A session setting, not a SET in a transaction the pool would roll back.
        return create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"server_settings": {"session_replication_role": "replica"}},
        )
    engine = make_engine(url, pool_size=pool_size)

    @event.listens_for(engine.sync_engine, "connect")
    def _no_fk_checks(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()  # make_engine's listener put the connection in autocommit first
        cur.execute("PRAGMA foreign_keys=OFF")
        cur.close()

    return engine


async def rewrite(
    url: str, rows: dict[str, list[dict[str, Any]]], *, transactions: int, writers: int
) -> float:
    """Insert ``rows`` again in ``transactions`` transactions from ``writers`` connections.

    Transaction *k* writes the *k*-th share of every table's rows, as one push batch writes
    its orders, lines, facts and change-log rows together. Returns the seconds taken.
    """
    tables = [t for t in metadata.sorted_tables if t.name in rows]
    transactions = max(1, transactions)
    writers = max(1, min(writers, transactions))
    engine = raw_engine(url, pool_size=writers)
    shares: list[list[tuple[Table, list[dict[str, Any]]]]] = [[] for _ in range(transactions)]
    for table in tables:
        batch = rows[table.name]
        size = -(-len(batch) // transactions)
        for k in range(transactions):
            chunk = batch[k * size : (k + 1) * size]
            if chunk:
                shares[k].append((table, chunk))
    queue: asyncio.Queue[list[tuple[Table, list[dict[str, Any]]]]] = asyncio.Queue()
    for share in shares:
        queue.put_nowait(share)

    async def writer() -> None:
        while not queue.empty():
            share = queue.get_nowait()
            async with engine.begin() as conn:
                for table, chunk in share:
                    await conn.execute(insert(table), chunk)

    try:
        async with engine.connect():  # open the pool before the clock starts
            pass
        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(writers)))
        return time.perf_counter() - started
    finally:
        await engine.dispose()
