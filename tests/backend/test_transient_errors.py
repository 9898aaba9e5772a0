"""Lost races for the database are told apart from bugs, so callers retry them instead of failing."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import create_async_engine

from backend.db import is_transient_error, make_engine


async def _sqlite_locked(db_url: str) -> DBAPIError:
    holder = sqlite3.connect(make_url(db_url).database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    engine = create_async_engine(db_url, connect_args={"timeout": 0.1})
    try:
        with pytest.raises(DBAPIError) as caught:
            async with engine.begin() as conn:
                await conn.execute(text("DELETE FROM feed_horizon"))
        return caught.value
    finally:
        holder.rollback()
        holder.close()
        await engine.dispose()


async def _postgres_deadlock(db_url: str) -> DBAPIError:
    engine = make_engine(db_url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS race_probe (id int PRIMARY KEY, n int)"))
        await conn.execute(text("INSERT INTO race_probe VALUES (1, 0), (2, 0) ON CONFLICT DO NOTHING"))
    both_locked = asyncio.Barrier(2)

    async def cross(first: int, second: int) -> None:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE race_probe SET n = n + 1 WHERE id = :i"), {"i": first})
            await both_locked.wait()
            await conn.execute(text("UPDATE race_probe SET n = n + 1 WHERE id = :i"), {"i": second})

    try:
        outcomes = await asyncio.gather(cross(1, 2), cross(2, 1), return_exceptions=True)
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(errors) == 1, outcomes
        assert isinstance(errors[0], DBAPIError)
        return errors[0]
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE race_probe"))
        await engine.dispose()


async def test_a_lost_race_is_transient(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        error = await _sqlite_locked(db_url)
    else:
        error = await _postgres_deadlock(db_url)
    assert is_transient_error(error)


async def test_a_bug_is_not_transient(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with pytest.raises(DBAPIError) as caught:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT * FROM no_such_table"))
        assert not is_transient_error(caught.value)
        assert not is_transient_error(ValueError("database is locked"))
    finally:
        await engine.dispose()


async def test_no_free_pooled_connection_is_transient(db_url: str) -> None:
    engine = create_async_engine(db_url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    try:
        async with engine.connect():
            with pytest.raises(PoolTimeout) as caught:
                async with engine.connect():
                    pass
        assert is_transient_error(caught.value)
    finally:
        await engine.dispose()
