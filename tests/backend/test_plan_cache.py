"""A push's transaction on PostgreSQL plans each run of a statement for its values and the tables
as they are then: it keeps no generic plan. Left to choose, PostgreSQL settles a prepared
statement on a generic plan after five runs and keeps it until the tables are analysed, so a
pooled connection that began on a new database's small tables went on scanning them as they grew
(the bench's 50 phones pushed stock checks at half the rate: docs/performance.md, issue 15). The
setting ends with the transaction: the connection's other work chooses as before."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, bindparam, event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import make_session_factory, plan_every_run
from backend.syncstate import SyncMutation
from tests.plans import captured, plan_runs

RUNS = 10  # twice the five custom plans PostgreSQL makes before it weighs a generic one


async def test_a_push_transaction_plans_every_run_and_the_next_transaction_does_not(
    engine: AsyncEngine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache: SQLite plans a statement once, when it prepares it")
    read = select(SyncMutation.seq).where(SyncMutation.mutation_id == bindparam("mutation_id"))
    async with make_session_factory(engine)() as session:
        with captured(engine, "FROM sync_mutations") as seen:
            await plan_every_run(session)
            for n in range(RUNS):
                await session.execute(read, {"mutation_id": f"m-{n}"})
            await session.commit()
            # The next transaction on the same connection: PostgreSQL's choice, a generic plan at once
            # (it has made five custom plans and more of this statement already).
            for n in range(RUNS):
                await session.execute(read, {"mutation_id": f"n-{n}"})
            _name, generic_runs, custom_runs = await plan_runs(await session.connection(), seen[0][0])
    assert (custom_runs, generic_runs) == (RUNS, RUNS)


async def test_a_push_runs_in_such_a_transaction(client, network, db_url: str) -> None:
    from tests.factories import auth_headers

    asked: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if "plan_cache_mode" in statement:
            asked.append(statement)

    headers = await auth_headers(client, "inspector-north")
    body = {
        "client_id": "plans",
        "protocol": 1,
        "mutations": [{"id": "m1", "seq": 1, "name": "profile.update", "args": {"display_name": "North"}}],
    }
    event.listen(Engine, "before_cursor_execute", capture)
    try:
        reply = (await client.post("/sync/v1/push", json=body, headers=headers)).json()
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
    assert [r["status"] for r in reply["results"]] == ["applied"]
    assert len(asked) == (1 if db_url.startswith("postgresql") else 0)
