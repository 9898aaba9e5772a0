"""A push's transaction on PostgreSQL plans each run of a statement for its values and the tables
as they are then: it keeps no generic plan. Left to choose, PostgreSQL settles a prepared
statement on a generic plan after five runs and keeps it until the tables are analysed, so a
pooled connection that began on a new database's small tables went on scanning them as they grew
(the bench's 50 phones pushed stock checks at half the rate: docs/performance.md, issue 15). The
setting ends with the transaction: the connection's other work chooses as before."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import make_session_factory, new_id
from backend.planmode import plan_every_run_column
from backend.setreads import SetRace
from backend.syncstate import SyncClient, SyncMutation
from sync import protocol as p
from sync.push import apply_admitted_batch
from tests.inventory.helpers import T0, actor
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


@pytest.mark.parametrize("case", ["stock-checks", "stock-checks-then-a-rename", "a-set-run-again"])
async def test_a_pushs_sets_read_planned_each_run_and_write_by_default(
    engine: AsyncEngine, session_factory, network, settings, monkeypatch, case: str
) -> None:
    """A set's writes run with PostgreSQL's default choice (a foreign key's check is a prepared
    statement of its own, run for every row: planned each run it cost 3–5 ms a batch); the rest of
    the push, a later set's reads and the change feed included, plans every run. A set run again
    after a lost race (its savepoint rolled back, and the setting with it) switches again. Each
    statement is classed by the mode the statements before it set (a rollback to a savepoint
    restores the mode the savepoint began in); ``SHOW`` says PostgreSQL took the last switch."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    import backend.inventory.batch as batch

    who = actor(network, "inspector-north")
    product = sorted(network.products.values(), key=lambda p: p.sku)[0]
    check = {"id": new_id(), "org_id": who.org_id, "product_id": product.id, "counted_qty": 3}
    mutations = [
        {"id": "m1", "seq": 1, "name": "stock_check.record", "args": {**check, "observed_at": T0.isoformat()}}
    ]
    if case == "stock-checks-then-a-rename":
        mutations.append({"id": "m2", "seq": 2, "name": "profile.update", "args": {"display_name": "N"}})
    if case == "a-set-run-again":
        real_write = batch._write

        async def write_then_lose_the_race(session, facts):
            await real_write(session, facts)
            monkeypatch.setattr(batch, "_write", real_write)
            raise SetRace("simulated: another transaction wrote a first level meanwhile")

        monkeypatch.setattr(batch, "_write", write_then_lose_the_race)
    request = msgspec.convert({"client_id": "modes", "protocol": 1, "mutations": mutations}, p.PushRequest)
    async with session_factory() as session:
        with captured(engine, "") as seen:
            reply = await apply_admitted_batch(session, who, settings, request)
        assert [r.status for r in reply.results] == ["applied"] * len(mutations)
        ran = _planned_in(seen)
        reads = [m for st, m in ran if st.startswith("SELECT") and "stock_levels" in st]
        writes = [m for st, m in ran if "INSERT INTO stock_checks" in st]
        renames = [m for st, m in ran if st.startswith("SELECT users.") and "display_name" in st]
        feed = [m for st, m in ran if "INSERT INTO change_log" in st]
        runs = 2 if case == "a-set-run-again" else 1
        assert reads and set(reads) == {"force_custom_plan"}
        assert writes == ["auto"] * runs
        assert set(renames) == ({"force_custom_plan"} if "rename" in case else set())
        assert feed == ["force_custom_plan"]
        assert await _mode(session) == "force_custom_plan"
        await session.rollback()


def _planned_in(seen: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """Each statement with the plan mode it ran in, as the statements before it set it."""
    mode, at_savepoint, ran = "auto", {}, []
    for statement, parameters in seen:
        ran.append((statement, mode))
        if "set_config" in statement:  # takes effect for the statements after it
            mode = next(v for v in parameters if v in ("force_custom_plan", "auto"))
        elif statement.startswith("SAVEPOINT "):
            at_savepoint[statement.split()[1]] = mode
        elif statement.startswith("ROLLBACK TO SAVEPOINT "):
            mode = at_savepoint[statement.split()[3]]
    return ran


async def _mode(session) -> str:
    return (await session.execute(text("SHOW plan_cache_mode"))).scalar_one()
