"""A fieldsync connection to PostgreSQL plans each run of a statement for its values and the
tables as they are then: it keeps no generic plan. Left to choose, PostgreSQL settles a prepared
statement on a generic plan after five runs and keeps it until the tables are analysed, so a
pooled connection that began on a new database's small tables went on scanning them as they grew
(the bench's 50 phones pushed stock checks at half the rate: docs/performance.md, issue 15)."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.syncstate import SyncMutation
from tests.plans import captured, plan_runs

RUNS = 10  # twice the five custom plans PostgreSQL makes before it weighs a generic one


async def test_a_connection_plans_every_run_of_a_prepared_statement(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache: SQLite plans a statement once, when it prepares it")
    read = select(SyncMutation.seq).where(SyncMutation.mutation_id == bindparam("mutation_id"))
    async with engine.connect() as conn:
        with captured(engine, "FROM sync_mutations") as seen:
            for n in range(RUNS):
                await conn.execute(read, {"mutation_id": f"m-{n}"})
        _name, generic_runs, custom_runs = await plan_runs(conn, seen[0][0])
    assert (generic_runs, custom_runs) == (0, RUNS)
