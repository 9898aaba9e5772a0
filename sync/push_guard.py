"""Per-mutation isolation without a savepoint per mutation, when it is safe.

A push batch first runs inside one savepoint for the whole batch, each mutation without its
own. A mutation that is refused *before it wrote anything* (the usual case: a check fails,
a rule says no) leaves nothing to undo, so its result is simply recorded. One that fails
after writing — a statement that changed rows, a pending or modified ORM object, an event
queued — raises :class:`Replay`: the push engine rolls the batch's savepoint back and runs the
batch again with a savepoint per mutation, exactly as before. Either way a rejected mutation
leaves no trace and never blocks the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import is_postgres
from backend.events import queued_count

_WRITES = ("insert", "update", "delete", "replace", "merge")


class Replay(Exception):
    """A mutation without its own savepoint failed after writing: replay the batch guarded."""


class WriteGuard:
    """Counts the statements that change rows on the batch's connection while installed.

    One listener for every engine, registered once, finds the guard in the connection's
    ``info``: registering a listener per push cost more than the push's statements."""

    def __init__(self) -> None:
        self.writes = 0
        self._connection: Connection | None = None

    async def install(self, session: AsyncSession) -> None:
        self._connection = (await session.connection()).sync_connection
        self._connection.info[_GUARD_KEY] = self

    def remove(self) -> None:
        if self._connection is not None:
            self._connection.info.pop(_GUARD_KEY, None)
            self._connection = None

    def mark(self, session: AsyncSession) -> tuple[int, int]:
        """Where the batch stands before a mutation runs."""
        return self.writes, queued_count(session)

    def untouched_since(self, session: AsyncSession, mark: tuple[int, int]) -> bool:
        """True if nothing was written, changed in memory or announced since ``mark``."""
        sync = session.sync_session
        return (
            (self.writes, queued_count(session)) == mark
            and not sync.new
            and not sync.deleted
            and not sync.dirty
        )


_GUARD_KEY = "fieldsync_write_guard"


def _count_writes(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    guard = conn.info.get(_GUARD_KEY)
    if guard is not None and statement.lstrip()[:7].lower().startswith(_WRITES):
        guard.writes += 1


if not event.contains(Engine, "before_cursor_execute", _count_writes):
    event.listen(Engine, "before_cursor_execute", _count_writes)


# ``OFFSET 0`` keeps the sorted subquery from being flattened: the locks are taken in key order.
_LOCK_IN_ORDER = text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM "
    "(SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1 OFFSET 0) AS sorted_keys"
)


def _lock_id(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


async def lock_in_order(session: AsyncSession, names: Iterable[str]) -> None:
    """On PostgreSQL, take a transaction-scoped advisory lock per name, in one global order.

    A batch that will lock rows named by its mutations (say, stock levels) takes these first:
    two batches touching the same rows then queue, whatever order their mutations come in,
    instead of deadlocking. SQLite serialises writers already; nothing to do there."""
    keys = sorted({_lock_id(n) for n in names})
    if keys and is_postgres(session):
        await session.execute(_LOCK_IN_ORDER, {"keys": keys})
