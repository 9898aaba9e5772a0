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

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from backend.events import _EVENTS_KEY

_WRITES = ("insert", "update", "delete", "replace", "merge")


class Replay(Exception):
    """A mutation without its own savepoint failed after writing: replay the batch guarded."""


class WriteGuard:
    """Counts the statements that change rows on the batch's connection while installed."""

    def __init__(self) -> None:
        self.writes = 0
        self._connection: Connection | None = None

    async def install(self, session: AsyncSession) -> None:
        self._connection = (await session.connection()).sync_connection
        event.listen(self._connection, "before_cursor_execute", self._count)

    def remove(self) -> None:
        if self._connection is not None:
            event.remove(self._connection, "before_cursor_execute", self._count)
            self._connection = None

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:7].lower().startswith(_WRITES):
            self.writes += 1

    def mark(self, session: AsyncSession) -> tuple[int, int]:
        """Where the batch stands before a mutation runs."""
        return self.writes, len(session.sync_session.info.get(_EVENTS_KEY) or ())

    def untouched_since(self, session: AsyncSession, mark: tuple[int, int]) -> bool:
        """True if nothing was written, changed in memory or announced since ``mark``."""
        sync = session.sync_session
        return (
            (self.writes, len(sync.info.get(_EVENTS_KEY) or ())) == mark
            and not sync.new
            and not sync.deleted
            and not sync.dirty
        )
