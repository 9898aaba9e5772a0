"""A set of stock counts reads each (place, product) level with one probe of its unique key,
however many products the place's shelf holds and whatever the table's statistics say. On
PostgreSQL a generic plan made while the table was small probed by location alone and filtered
every product on the shelf (9.7 ms median per 100 counts at 230 products a shelf)."""

from __future__ import annotations

import contextlib
import json

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.changefeed.recording import buffer_changes, write_buffered
from backend.identity import Actor
from backend.inventory.batch import CheckDone, CheckIn, record_stock_checks
from tests.factories import build_network
from tests.inventory.helpers import actor, at
from tests.plans import (
    analyse_vacuumed,
    captured,
    explain_prepared,
    forget_statistics,
    prepare_generic,
    rows_read,
    rows_removed,
)

SKUS = 240
# Analysed, a shelf must be large enough that reading it all for each count costs more than a
# probe: at 200 levels (a few pages) a scan per pair is the cheaper plan, and the test's verdict
# hung on how many dead pages earlier tests and autovacuum had left.
ANALYSED_SKUS = 1000
BATCH = 100


async def _count(
    session_factory: async_sessionmaker[AsyncSession], staff: Actor, products: list[str], minute: int
) -> list[object]:
    async with session_factory() as session:
        # One count id per (minute, product), 32 characters: a batch's ids must not repeat an
        # earlier batch's (they did, and the shelf never held more than two batches' levels).
        items = [CheckIn(f"{minute:04d}{pid[4:]}", staff.org_id, pid, 5, at(minute)) for pid in products]
        buffer_changes(session)  # as a push does: the change feed is written once, at the end
        outcomes = await record_stock_checks(session, staff, items, device_id="dev-1", discrepancy_ratio=0.2)
        await write_buffered(session)
        await session.commit()
    return outcomes


@pytest.mark.parametrize(
    "planned_at", [None, 3, BATCH], ids=["analysed", "planned_at_3_levels", "planned_at_100_levels"]
)
async def test_the_level_read_probes_each_pair(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], planned_at: int | None
) -> None:
    """``planned_at``: the connection made its plan when the shelf held that many levels and
    keeps it as the shelf fills (nothing analysed the tables since), as a server's pooled
    connection does on a new database; ``None``: planned on analysed tables."""
    analysed = planned_at is None
    skus = ANALYSED_SKUS if analysed else SKUS
    async with session_factory() as session:
        net = await build_network(session, terminals=2, skus=skus)
        await session.commit()
    staff = actor(net, "dist-north")  # counts its own warehouse: one location, every product
    products = sorted(p.id for p in net.products.values())
    assert len(products) >= skus
    pg = engine.dialect.name == "postgresql"
    async with contextlib.AsyncExitStack() as stack:
        # SQLite: one connection open while another writes would wait for it.
        conn = await stack.enter_async_context(engine.connect()) if pg else None
        if conn is not None and not analysed:
            await forget_statistics(conn, "stock_levels", "stock_locations")
            with captured(engine, "FROM stock_levels") as seen:
                await _count(session_factory, staff, products[:planned_at], minute=1)
            statement, parameters = seen[0]
            await prepare_generic(conn, statement, parameters)
        for start in range(0, len(products), BATCH):  # the shelf fills up: a level per product
            counted = await _count(session_factory, staff, products[start : start + BATCH], minute=2)
            assert all(isinstance(o, CheckDone) for o in counted), counted
        if conn is not None and analysed:
            await analyse_vacuumed(conn, "stock_levels", "stock_locations")
        wanted = products[-BATCH:]
        with captured(engine, "FROM stock_levels") as seen:
            outcomes = await _count(session_factory, staff, wanted, minute=3)
        assert all(isinstance(o, CheckDone) for o in outcomes), outcomes
        statement, parameters = seen[0]
        if conn is not None:
            if analysed:
                await prepare_generic(conn, statement, parameters)
            plan = await explain_prepared(conn, parameters)
            assert plan["Actual Rows"] == BATCH
            # One probe per pair, each finding its one level: not the shelf.
            assert rows_read(plan, "stock_levels") <= BATCH, json.dumps(plan, indent=1)
            assert rows_removed(plan) < BATCH, json.dumps(plan, indent=1)
            return
    async with engine.connect() as reader:
        rows = (await reader.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)).all()
    details = " | ".join(str(r[-1]) for r in rows)
    assert "SCAN stock_levels" not in details, details
