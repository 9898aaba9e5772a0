"""SQLite transactions on a real database file: read-only ones never wait for writers, writers
queue in arrival order at the process's write gate, and none meets "database is locked"."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import make_engine, read_only, writers_waiting


async def _until(condition: Callable[[], bool]) -> None:
    """Yield to the event loop until ``condition`` holds (the test timeout bounds it)."""
    while not condition():
        await asyncio.sleep(0.005)


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncEngine:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'gate.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER NOT NULL, seen INTEGER NOT NULL)"))
    yield engine
    await engine.dispose()


async def _write(engine: AsyncEngine, n: int) -> None:
    """Read, then write, in one transaction: the pattern that upgrades a read lock if deferred."""
    async with engine.begin() as conn:
        seen = (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one()
        await conn.execute(text("INSERT INTO t (n, seen) VALUES (:n, :seen)"), {"n": n, "seen": seen})


async def _count(engine: AsyncEngine) -> int:
    async with read_only(engine).connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM t"))).scalar_one())


async def test_readers_proceed_and_writers_queue_in_arrival_order_behind_an_open_write(sqlite_engine):
    engine = sqlite_engine
    holder = await engine.connect()
    await holder.begin()
    await holder.execute(text("INSERT INTO t (n, seen) VALUES (0, 0)"))
    writers = []
    for n in range(1, 6):
        writers.append(asyncio.create_task(_write(engine, n)))
        await _until(lambda n=n: writers_waiting(engine) == n)
    # The write transaction is open and five writers wait: reads still run, on the last commit.
    assert await asyncio.gather(*(_count(engine) for _ in range(8))) == [0] * 8
    assert not any(w.done() for w in writers)
    await holder.commit()
    await holder.close()
    await asyncio.gather(*writers)
    async with read_only(engine).connect() as conn:
        rows = (await conn.execute(text("SELECT n, seen FROM t ORDER BY rowid"))).all()
    # Each writer ran after every writer that arrived before it, and saw all their rows.
    assert [tuple(r) for r in rows] == [(n, n) for n in range(6)]
    assert writers_waiting(engine) == 0


async def test_many_concurrent_writers_and_readers_never_meet_a_locked_database(sqlite_engine):
    engine = sqlite_engine
    jobs = [_write(engine, n) for n in range(40)] + [_count(engine) for _ in range(40)]
    await asyncio.gather(*jobs)
    assert await _count(engine) == 40


async def test_a_read_only_transaction_refuses_to_write_instead_of_upgrading(sqlite_engine):
    engine = sqlite_engine
    async with read_only(engine).connect() as conn:
        await conn.execute(text("SELECT count(*) FROM t"))
        with pytest.raises(OperationalError, match="readonly"):
            await conn.execute(text("INSERT INTO t (n, seen) VALUES (1, 1)"))
        await conn.rollback()
    # The same pooled connection writes again once it is used for a writer.
    await _write(engine, 7)
    assert await _count(engine) == 1


async def test_a_failed_writer_frees_the_gate(sqlite_engine):
    engine = sqlite_engine
    with pytest.raises(OperationalError):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO missing_table VALUES (1)"))
    conn = await engine.connect()
    await conn.begin()
    await conn.execute(text("INSERT INTO t (n, seen) VALUES (1, 0)"))
    await conn.close()  # closed mid-transaction: rolled back, the gate is free again
    await _write(engine, 2)
    assert await _count(engine) == 1
