"""A pooled PostgreSQL connection closed while idle is replaced before a request uses it; one used
a moment ago is handed out without a ping (two round trips saved per request)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend import db
from backend.db import make_engine


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _close_from_elsewhere(db_url: str, pid: int) -> None:
    """Close ``pid``'s connection from another engine, as a server restart or a proxy's timeout would."""
    other = make_engine(db_url, pool_size=1)
    try:
        async with other.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await other.dispose()


@pytest.mark.parametrize("idle_after_s", [0.0, 3600.0], ids=["idle", "just-used"])
async def test_a_connection_closed_while_idle_is_replaced(
    db_url: str, monkeypatch: pytest.MonkeyPatch, idle_after_s: float
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has no server to close a connection")
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", idle_after_s)
    engine = make_engine(db_url, pool_size=1)
    try:
        first = await _backend_pid(engine)
        await _close_from_elsewhere(db_url, first)
        if idle_after_s == 0.0:
            # Idle past the limit: the checkout pings, finds the connection closed and connects
            # again, so the statement runs on a new server process.
            assert await _backend_pid(engine) != first
        else:
            # Used a moment ago: handed out without a ping (no round trips before the request's
            # own statements), so this one statement meets the closed connection.
            with pytest.raises(DBAPIError):
                await _backend_pid(engine)
            assert await _backend_pid(engine) != first  # and the pool has replaced it
    finally:
        await engine.dispose()
