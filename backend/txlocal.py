"""Things a session holds for its transaction, each tagged with the (sub)transaction that made it.

The after-commit events (:mod:`backend.events`) and a push batch's buffered change feed
(:mod:`backend.changefeed.recording`) both wait in ``session.info`` until the transaction ends;
what a savepoint made goes when that savepoint rolls back. This module is that bookkeeping.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction


def sync_session(session: AsyncSession | Session) -> Session:
    """The ORM session behind ``session`` (itself when it is one)."""
    return session.sync_session if isinstance(session, AsyncSession) else session


def current_transaction(session: Session) -> SessionTransaction | None:
    """The innermost transaction: the open savepoint, else the root."""
    return session.get_nested_transaction() or session.get_transaction()


def descends_from(tx: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while tx is not None:
        if tx is ancestor:
            return True
        tx = tx.parent
    return False


def drop_rolled_back(session: Session, key: str, rolled_back: SessionTransaction) -> None:
    """Drop from the ``(transaction, item)`` list at ``session.info[key]`` what ``rolled_back`` or a
    savepoint inside it made."""
    held: list[tuple[Any, Any]] | None = session.info.get(key)
    if held:
        held[:] = [(tx, item) for tx, item in held if not descends_from(tx, rolled_back)]
