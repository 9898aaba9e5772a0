"""PostgreSQL plans as a long-lived connection settles on them, for tests that a read's plan
does not walk rows it does not need (whatever the table's statistics say)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


def _pg_literal(value: Any) -> str:
    if isinstance(value, list):
        return "'{" + ",".join(json.dumps(v) if isinstance(v, str) else str(v) for v in value) + "}'"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


async def prepare_generic(conn: AsyncConnection, statement: str, parameters: Any) -> None:
    """Prepare ``statement`` (as the driver got it) on ``conn`` and run it once under a generic
    plan: the plan is made from the tables as they are now and kept for the connection, as a
    long-lived connection keeps it until the tables are analysed."""
    await conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    await conn.exec_driver_sql(f"PREPARE probe AS {statement}")
    await conn.exec_driver_sql(f"EXECUTE probe({_arguments(parameters)})")
    await conn.commit()  # the statement and its plan stay; any row locks it took do not


async def explain_prepared(conn: AsyncConnection, parameters: Any) -> dict[str, Any]:
    """``EXPLAIN ANALYZE`` of the statement :func:`prepare_generic` prepared, with its kept plan;
    the plan's root node."""
    return await _explain_execute(conn, "probe", parameters)


async def generic_plan(conn: AsyncConnection, statement: str, parameters: Any) -> dict[str, Any]:
    """The generic plan of ``statement`` made from the tables as they are now, explained."""
    await prepare_generic(conn, statement, parameters)
    return await explain_prepared(conn, parameters)


async def plan_runs(conn: AsyncConnection, statement: str) -> tuple[str, int, int]:
    """``statement`` as ``conn``'s driver prepared and cached it: its name, and how many of its
    runs had a generic plan (made once and kept) and how many a custom one (made for the run)."""
    row = (
        await conn.exec_driver_sql(
            "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
            (statement,),
        )
    ).one()
    return row[0], row[1], row[2]


async def explain_cached(conn: AsyncConnection, statement: str, parameters: Any) -> dict[str, Any]:
    """``EXPLAIN ANALYZE`` of ``statement`` as ``conn``'s driver cached it, with the plan the
    connection's plan cache picks for it now; the plan's root node."""
    name, _generic, _custom = await plan_runs(conn, statement)
    return await _explain_execute(conn, name, parameters)


async def _explain_execute(conn: AsyncConnection, name: str, parameters: Any) -> dict[str, Any]:
    explained = (
        await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE {name}({_arguments(parameters)})")
    ).scalar_one()
    return (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]


def _arguments(parameters: Any) -> str:
    return ", ".join(_pg_literal(v) for v in parameters)


def rows_removed(plan: dict[str, Any]) -> int:
    """Rows the plan read and threw away, by filters and join filters, in every node."""
    removed = plan.get("Rows Removed by Filter", 0) + plan.get("Rows Removed by Join Filter", 0)
    return removed + sum(rows_removed(child) for child in plan.get("Plans", ()))


def rows_read(plan: dict[str, Any], relation: str) -> float:
    """Rows the plan's scans of ``relation`` read (kept or filtered out), over all their loops."""
    own = 0.0
    if plan.get("Relation Name") == relation:
        per_loop = plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
        own = per_loop * plan.get("Actual Loops", 1)
    return own + sum(rows_read(child, relation) for child in plan.get("Plans", ()))


@contextlib.contextmanager
def captured(engine: AsyncEngine, needle: str) -> Iterator[list[tuple[str, Any]]]:
    """The statements (and parameters) the driver gets while inside, those containing ``needle``."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if needle in statement:
            seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)


async def forget_statistics(conn: AsyncConnection, *tables: str) -> None:
    """Leave ``tables`` as a new database has them: few pages, never analysed. The test databases
    are emptied and reused, so the pages an earlier test filled (the planner reads a table's size
    off its files) and its ``ANALYZE`` or autovacuum's would otherwise still count."""
    await _vacuum(conn, tables)  # gives the emptied pages back
    oids = ", ".join(f"'{t}'::regclass" for t in tables)
    await conn.exec_driver_sql(f"DELETE FROM pg_statistic WHERE starelid IN ({oids})")
    await conn.exec_driver_sql(
        "UPDATE pg_class SET reltuples = -1, relpages = 0 "
        f"WHERE oid IN ({oids}) OR oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN ({oids}))"
    )
    await conn.commit()


async def analyse_vacuumed(conn: AsyncConnection, *tables: str) -> None:
    """Statistics for ``tables`` as they hold now, their dead pages given back first: the plan
    depends on the rows there are, not on what earlier tests (or autovacuum's timing) left."""
    await _vacuum(conn, tables, analyse=True)


async def _vacuum(conn: AsyncConnection, tables: tuple[str, ...], *, analyse: bool = False) -> None:
    async with conn.engine.connect() as other:
        outside = await other.execution_options(isolation_level="AUTOCOMMIT")
        for table in tables:
            await outside.exec_driver_sql(f"VACUUM {'ANALYZE ' if analyse else ''}{table}")
