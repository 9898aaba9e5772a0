"""A push's read of its stored results costs one index probe per id, however long the phone's
history: the plan does not walk the outbox's rows (it did on PostgreSQL: a generic plan estimates
an outbox at one row, and filtered the whole history of a busy phone, 50 ms at 15,000 rows)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import make_session_factory, new_id, utcnow
from backend.syncstate import SyncMutation
from sync import protocol as p
from sync.push import _stored_results
from tests.plans import captured, explain_cached, forget_statistics, generic_plan, rows_read, rows_removed

HISTORY = 3_000
USER, CLIENT = "u" * 32, "phone-1"


async def _history(engine: AsyncEngine, *, analyse: bool = True) -> None:
    """A busy phone's stored results among many quiet phones' (so an outbox looks small)."""
    await _results(engine, [(USER, CLIENT, HISTORY)] + [(f"{n:032d}", "phone", 3) for n in range(400)])
    if analyse and engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE sync_mutations")  # a live database has statistics


async def _results(engine: AsyncEngine, phones: list[tuple[str, str, int]]) -> None:
    """Stored results for each ``(user, client, count)``: seqs 1 to count."""
    now = utcnow()
    rows = [
        {
            "user_id": user,
            "client_id": client,
            "mutation_id": new_id(),
            "seq": seq,
            "name": "stock_check.record",
            "status": "applied",
            "tx": 0,
            "applied_at": now,
        }
        for user, client, count in phones
        for seq in range(1, count + 1)
    ]
    if rows:
        async with engine.begin() as conn:
            await conn.execute(insert(SyncMutation), rows)


async def _captured_read(engine: AsyncEngine, batch: list[p.MutationIn]) -> tuple[str, Any, dict]:
    """Run the real read; the SQL and parameters the driver got, and what it found."""
    with captured(engine, "sync_mutations") as seen:
        async with make_session_factory(engine)() as session:
            by_id, _by_seq = await _stored_results(session, USER, CLIENT, batch, HISTORY)
    ((statement, parameters),) = seen
    return statement, parameters, by_id


async def test_the_stored_results_read_probes_the_ids(engine: AsyncEngine) -> None:
    await _history(engine)
    async with engine.connect() as conn:
        old_id = (
            await conn.exec_driver_sql(
                "SELECT mutation_id FROM sync_mutations WHERE seq = 7 AND client_id = 'phone-1'"
            )
        ).scalar_one()
    # A batch of new mutations, one of them a retry of seq 7 under a new seq (found by its id).
    batch = [p.MutationIn(id=new_id(), seq=HISTORY + n, name="stock_check.record") for n in range(1, 100)]
    batch.append(p.MutationIn(id=old_id, seq=HISTORY + 100, name="stock_check.record"))
    statement, parameters, by_id = await _captured_read(engine, batch)
    assert set(by_id) == {old_id} and by_id[old_id]["seq"] == 7

    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # The plan a prepared statement settles on after a few runs: generic, from statistics.
            plan = await generic_plan(conn, statement, parameters)
            assert rows_removed(plan) < 100, json.dumps(plan, indent=1)
        else:
            rows = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)).all()
            details = " | ".join(str(r[-1]) for r in rows)
            # Each id looked up on an index with all three columns bound, never the outbox walked.
            assert re.search(r"SEARCH sync_mutations USING INDEX \S+ \([^)]*mutation_id=\?", details), details
            assert "SCAN sync_mutations" not in details, details


@pytest.mark.parametrize("planned_at", [0, 120], ids=["planned_on_an_empty_outbox", "planned_at_120_results"])
async def test_a_pooled_connection_probes_the_ids_in_an_outbox_never_analysed(
    engine: AsyncEngine, planned_at: int
) -> None:
    """A server's connection runs the read on a new database, over and over while the outbox
    holds ``planned_at`` results, then again once it holds thousands that nothing has analysed:
    the plan it uses then probes the ids. (Without statistics PostgreSQL takes each id of a flat
    ``= ANY(ids)`` to match 0.5% of the rows: for 100 ids it scanned the whole outbox, 4,200 rows.
    A generic plan forced at 120 results scanned it once per id; a push plans every run,
    ``backend.planmode.plan_every_run_column``, and this test runs the read without it.)"""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache: SQLite plans each statement when it prepares it")
    async with engine.connect() as conn:
        await forget_statistics(conn, "sync_mutations")
    await _results(engine, [(f"{n:032d}", "tablet", 1) for n in range(planned_at)])
    batch = [p.MutationIn(id=new_id(), seq=HISTORY + n, name="stock_check.record") for n in range(1, 101)]
    for _ in range(10):  # a prepared statement weighs a generic plan after five runs
        await _captured_read(engine, batch)
    await _history(engine, analyse=False)
    statement, parameters, _by_id = await _captured_read(engine, batch)
    async with engine.connect() as conn:  # the pool's one connection: it ran every read above
        plan = await explain_cached(conn, statement, parameters)
    assert rows_read(plan, "sync_mutations") <= len(batch), json.dumps(plan, indent=1)
