"""A push's read of its stored results costs one index probe per id, however long the phone's
history and whether or not the table has statistics: the plan does not walk the outbox's rows. It
did on PostgreSQL: a generic plan estimates an outbox at one row, and filtered the whole history
of a busy phone (50 ms at 15,000 rows); on a table autovacuum had not analysed yet, it scanned
every phone's results (7–10 ms at 4,000)."""

from __future__ import annotations

import contextlib
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
from tests.plans import captured, explain_prepared, forget_statistics, prepare_generic, rows_removed

HISTORY = 3_000
USER, CLIENT = "u" * 32, "phone-1"


async def _history(engine: AsyncEngine, *, analysed: bool) -> None:
    """A busy phone's stored results among many quiet phones' (so an outbox looks small)."""
    await _results(engine, [(USER, CLIENT, HISTORY)] + [(f"{n:032d}", "phone", 3) for n in range(400)])
    if analysed and engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE sync_mutations")  # a live database has statistics


async def _results(engine: AsyncEngine, phones: list[tuple[str, str, int]]) -> None:
    """``count`` stored results for each (user, client, count)."""
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
    async with engine.begin() as conn:
        await conn.execute(insert(SyncMutation), rows)


async def _captured_read(engine: AsyncEngine, batch: list[p.MutationIn]) -> tuple[str, Any, dict]:
    """Run the real read; the SQL and parameters the driver got, and what it found."""
    with captured(engine, "sync_mutations") as seen:
        async with make_session_factory(engine)() as session:
            by_id, _by_seq = await _stored_results(session, USER, CLIENT, batch, HISTORY)
    ((statement, parameters),) = seen
    return statement, parameters, by_id


@pytest.mark.parametrize("analysed", [True, False], ids=["analysed", "planned_while_small"])
async def test_the_stored_results_read_probes_the_ids(engine: AsyncEngine, analysed: bool) -> None:
    """``planned_while_small``: the connection made its plan when the table held a few pages and
    keeps it as the history arrives (nothing analysed the table since), as a server's pooled
    connection does on a new database."""
    pg = engine.dialect.name == "postgresql"
    async with contextlib.AsyncExitStack() as stack:
        # SQLite: one connection open while another writes would wait for it.
        conn = await stack.enter_async_context(engine.connect()) if pg else None
        if conn is not None and not analysed:
            await forget_statistics(conn, "sync_mutations")
            # A prepared statement settles on its generic plan at its sixth run: after five pushes.
            await _results(engine, [("f" * 32, "first-phone", 5 * 100)])
            first = [p.MutationIn(id=new_id(), seq=n, name="stock_check.record") for n in range(1, 100)]
            statement, parameters, _found = await _captured_read(engine, first)
            await prepare_generic(conn, statement, parameters)
        await _history(engine, analysed=analysed)
        async with engine.connect() as reader:
            old_id = (
                await reader.exec_driver_sql(
                    "SELECT mutation_id FROM sync_mutations WHERE seq = 7 AND client_id = 'phone-1'"
                )
            ).scalar_one()
        # A batch of new mutations, one of them a retry of seq 7 under a new seq (found by its id).
        batch = [p.MutationIn(id=new_id(), seq=HISTORY + n, name="stock_check.record") for n in range(1, 100)]
        batch.append(p.MutationIn(id=old_id, seq=HISTORY + 100, name="stock_check.record"))
        statement, parameters, by_id = await _captured_read(engine, batch)
        assert set(by_id) == {old_id} and by_id[old_id]["seq"] == 7

        if conn is not None:
            if analysed:
                await prepare_generic(conn, statement, parameters)
            plan = await explain_prepared(conn, parameters)
            assert rows_removed(plan) < 100, json.dumps(plan, indent=1)
            return
    async with engine.connect() as conn:
        rows = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)).all()
    details = " | ".join(str(r[-1]) for r in rows)
    # Each id looked up on an index with all three columns bound, never the outbox walked.
    assert re.search(r"SEARCH sync_mutations USING INDEX \S+ \([^)]*mutation_id=\?", details), details
    assert "SCAN sync_mutations" not in details, details
