"""A push's transaction on PostgreSQL plans each run of a statement for its values and the tables
as they are then: it keeps no generic plan. Left to choose, PostgreSQL settles a prepared
statement on a generic plan after five runs and keeps it until the tables are analysed, so a
pooled connection that began on a new database's small tables went on scanning them as they grew
(the bench's 50 phones pushed stock checks at half the rate: docs/performance.md, issue 15). The
setting ends with the transaction: the connection's other work chooses as before."""

from __future__ import annotations

import msgspec
import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import make_session_factory, plan_every_run_column
from backend.syncstate import SyncClient, SyncMutation
from sync import protocol as p
from sync.push import apply_admitted_batch
from tests.inventory.helpers import actor
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
            await session.execute(select(plan_every_run_column()))
            for n in range(RUNS):
                await session.execute(read, {"mutation_id": f"m-{n}"})
            await session.commit()
            # The next transaction on the same connection: PostgreSQL's choice, a generic plan at once
            # (it has made five custom plans and more of this statement already).
            for n in range(RUNS):
                await session.execute(read, {"mutation_id": f"n-{n}"})
            _name, generic_runs, custom_runs = await plan_runs(await session.connection(), seen[0][0])
    assert (custom_runs, generic_runs) == (RUNS, RUNS)


@pytest.mark.parametrize("client_id", ["a-new-phone", "a-known-phone"])
async def test_a_push_runs_in_such_a_transaction(
    session_factory, network, settings, db_url: str, client_id: str
) -> None:
    """Whether its client's row is made by this push or found (the setting rides on the row's
    lock, which a new phone asks twice), the push's statements are planned each run, and the next
    transaction is not."""
    who = actor(network, "inspector-north")
    mutation = {"id": "m1", "seq": 1, "name": "profile.update", "args": {"display_name": "North"}}
    request = msgspec.convert({"client_id": client_id, "protocol": 1, "mutations": [mutation]}, p.PushRequest)
    async with session_factory() as session:
        if client_id == "a-known-phone":
            session.add(SyncClient(user_id=who.user_id, client_id=client_id, last_seq=0))
            await session.commit()
        reply = await apply_admitted_batch(session, who, settings, request)
        assert [r.status for r in reply.results] == ["applied"]
        if not db_url.startswith("postgresql"):
            return
        assert await _mode(session) == "force_custom_plan"
        await session.commit()
        assert await _mode(session) == "auto"


async def _mode(session) -> str:
    return (await session.execute(text("SHOW plan_cache_mode"))).scalar_one()
