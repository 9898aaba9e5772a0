"""Migration 0012 gives the organisations of a database made before it the cards that the recording
hooks give every organisation written after it (same change data, versions and digests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlalchemy.engine import make_url

from backend.changefeed.models import ChangeLog, ScopeRow
from backend.db import make_engine, make_session_factory
from backend.identity import service as identity
from backend.migrate import upgrade
from tests.dbs import _pg_exec, pg_url

BEFORE = "0011_console_speed"


@pytest.fixture(params=["sqlite", "postgresql"])
async def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'cards.db'}"
    url = pg_url()
    if url is None:
        pytest.skip("PostgreSQL variant: set FIELDSYNC_TEST_DATABASE_URL to run it")
    name = f"{make_url(url).database}_cards"
    await _pg_exec(url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"', database="postgres")
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def _cards(url: str) -> dict[str, tuple]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(ScopeRow.entity_id, ScopeRow.version, ScopeRow.digest, ChangeLog.op, ChangeLog.data)
                .join(ChangeLog, ChangeLog.id == ScopeRow.change_id)
                .where(ScopeRow.scope.like("orgcard:%"), ScopeRow.scope == "orgcard:" + ScopeRow.entity_id)
            )
            return {r.entity_id: (r.version, r.digest, r.op, r.data) for r in rows}
    finally:
        await engine.dispose()


async def _forget_cards(url: str) -> None:
    """Make the database look as one written before organisation cards existed."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(delete(ScopeRow).where(ScopeRow.scope.like("orgcard:%")))
            await conn.execute(delete(ChangeLog).where(ChangeLog.scope.like("orgcard:%")))
    finally:
        await engine.dispose()


async def test_the_backfill_equals_what_the_hooks_write(scratch_url: str) -> None:
    await asyncio.to_thread(upgrade, scratch_url, BEFORE)  # Alembic's env runs its own loop
    engine = make_engine(scratch_url)
    try:
        async with make_session_factory(engine)() as session:
            supplier = await identity.create_organisation(session, kind="supplier", name="供应商", code="s")
            distributor = await identity.create_organisation(session, kind="distributor", name="D", code="d")
            await identity.create_organisation(
                session, kind="terminal", name="Shop", code="t", parent_id=distributor.id
            )
            await session.commit()
            supplier.name = "供应商甲"  # a second version
            await session.commit()
    finally:
        await engine.dispose()
    written_by_hooks = await _cards(scratch_url)
    assert len(written_by_hooks) == 3 and written_by_hooks[supplier.id][0] == 2
    await _forget_cards(scratch_url)
    assert await _cards(scratch_url) == {}

    await asyncio.to_thread(upgrade, scratch_url)
    assert await _cards(scratch_url) == written_by_hooks
