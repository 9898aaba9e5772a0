"""How PostgreSQL plans a push's statements: every run, but a set's own writes.

A push's set reads look rows up by lists of keys in tables that grow. Left to choose, PostgreSQL
settles a prepared statement on a generic plan after five runs and keeps it until the tables are
analysed: a connection that began on a new database kept the scans it made while the tables were
small as they grew (``docs/performance.md``, issue 15). So the push plans every run
(:func:`plan_every_run_column`, asked with the client's row lock).

But a foreign key is checked by a prepared statement of its own (``SELECT 1 FROM ONLY … FOR KEY
SHARE``), one run per row written and key, and that setting plans each of those runs too: about
500 plannings, 3–5 ms of the database's time, for a batch of 100 stock checks. Those checks are
probes of a primary key, planned alike at any size. So a set's writes run with PostgreSQL's
default choice (:func:`writes_planned_by_default`), and everything else in the push, the change
feed included, is planned every run as before. The transaction's current choice is kept in
``session.info``; without it (not a push, or SQLite) nothing is switched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

PLAN_MODE_KEY = "fieldsync_plan_mode"
EVERY_RUN = "force_custom_plan"
DEFAULT = "auto"


def plan_every_run_column() -> Any:
    """A column that makes PostgreSQL plan every later statement of the current transaction at
    each run, for its values and the tables as they are then (asyncpg still keeps it parsed), for
    a statement the transaction runs anyway: no round trip of its own. It takes effect once that
    statement returns a row. ``set_config(…, true)`` is ``SET LOCAL``: gone at commit, so nothing
    reaches the next transaction (or, through PgBouncer in transaction mode, another client).
    The caller records it with :func:`planned_every_run`.

    Not for a connection as a whole: keyset-paged reads (the initial pull) ran 3 × slower planned
    at every run."""
    return func.set_config("plan_cache_mode", EVERY_RUN, True).label("plan_every_run")


def planned_every_run(session: AsyncSession) -> None:
    """Record that the transaction now plans every run (:func:`plan_every_run_column` returned)."""
    session.info[PLAN_MODE_KEY] = EVERY_RUN


def forget_plan_mode(session: AsyncSession) -> None:
    """At the end of the push: the setting ends with its transaction."""
    session.info.pop(PLAN_MODE_KEY, None)


@asynccontextmanager
async def writes_planned_by_default(session: AsyncSession) -> AsyncIterator[None]:
    """Around a set's writes: PostgreSQL's default choice, so the foreign keys' checks keep their
    plans; every run again after them (one statement each way). A write that fails switches
    nothing back: its transaction is aborted until the rollback to the batch's savepoint that
    follows, and that rollback puts the setting back as the savepoint began, every run."""
    if session.info.get(PLAN_MODE_KEY) != EVERY_RUN:
        yield
        return
    await _set(session, DEFAULT)
    try:
        yield
    except BaseException:
        session.info[PLAN_MODE_KEY] = EVERY_RUN
        raise
    await _set(session, EVERY_RUN)


async def _set(session: AsyncSession, mode: str) -> None:
    conn = await session.connection()
    await conn.execute(select(func.set_config("plan_cache_mode", mode, True)))
    session.info[PLAN_MODE_KEY] = mode
