"""The one-hop SQLite cursor answers exactly as SQLAlchemy's own aiosqlite adapter does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backend.db import make_engine
from backend.sqlite_driver import OneHopCursor

STATEMENTS: list[tuple[str, Any]] = [
    ("INSERT INTO t (id, v) VALUES (:id, :v)", [{"id": i, "v": f"v{i}"} for i in range(1, 6)]),
    ("UPDATE t SET v = v || '!' WHERE id > :id", {"id": 2}),
    ("DELETE FROM t WHERE id = :id", {"id": 99}),
    ("INSERT INTO t (id, v) VALUES (:id, :v) RETURNING id, v", {"id": 7, "v": "seven"}),
    ("SELECT id, v FROM t ORDER BY id", None),
    ("SELECT count(*) AS n FROM t WHERE v LIKE :p", {"p": "%!"}),
]


async def _answers(engine: AsyncEngine) -> list[Any]:
    out: list[Any] = []
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
        for sql, params in STATEMENTS:
            result = await conn.execute(text(sql), params)
            rows = [tuple(r) for r in result] if result.returns_rows else None
            keys = list(result.keys()) if result.returns_rows else None
            out.append((keys, rows, result.rowcount))
    return out


async def test_same_rows_counts_and_keys_as_the_stock_adapter(tmp_path: Path) -> None:
    ours = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'ours.db'}")
    stock = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'stock.db'}")
    try:
        assert await _answers(ours) == await _answers(stock)
    finally:
        await ours.dispose()
        await stock.dispose()


async def test_errors_come_through_as_sqlalchemy_errors_and_leave_the_connection_usable(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'e.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        async with engine.connect() as conn:
            with pytest.raises(IntegrityError):
                await conn.execute(text("INSERT INTO t VALUES (1)"))
            await conn.rollback()
            with pytest.raises(OperationalError):
                await conn.execute(text("SELECT nope FROM t"))
            await conn.rollback()
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_a_statement_is_one_trip_to_the_connection_thread(tmp_path: Path) -> None:
    """Counted where aiosqlite queues work for its thread: one call per statement (was four)."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 0"))  # the transaction's BEGIN is a statement of its own
            raw = (await conn.get_raw_connection()).driver_connection
            cursors: list[Any] = []
            event.listen(conn.sync_connection, "before_cursor_execute", lambda *a: cursors.append(a[1]))
            calls = 0
            original = raw._execute

            async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
                nonlocal calls
                calls += 1
                return await original(fn, *args, **kwargs)

            raw._execute = counting
            for i in range(10):
                (await conn.execute(text("SELECT :i"), {"i": i})).all()
            raw._execute = original
            assert calls == 10
            assert all(isinstance(c, OneHopCursor) for c in cursors)
    finally:
        await engine.dispose()
