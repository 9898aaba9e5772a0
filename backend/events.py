"""Events leave only after commit.

A service that wants the world told about a change calls :func:`queue_event` in the session
that makes it. The events wait in ``session.info``; when the transaction commits, an
``after_commit`` listener hands them — together with the change-feed scopes the transaction
touched (for live "pull now" hints) — to the publisher the application installed with
:func:`set_publisher`. A rollback drops them; so does the rollback of a savepoint for the
events queued inside it (a rejected sync mutation never announces anything).

The publisher is called on the committing thread (the event loop's, for async sessions) and
must not block: the API's publisher hands the events to Litestar channels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from backend.changefeed import TOUCHED_SCOPES_KEY
from backend.txlocal import current_transaction, drop_rolled_back, sync_session

log = logging.getLogger("fieldsync.events")

_EVENTS_KEY = "fieldsync_events"


@dataclass(frozen=True, slots=True)
class Event:
    topic: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Committed:
    """What one committed transaction announces."""

    events: list[Event] = field(default_factory=list)
    touched_scopes: frozenset[str] = frozenset()


Publisher = Callable[[Committed], None]

_publisher: Publisher | None = None


def set_publisher(publisher: Publisher | None) -> Publisher | None:
    """Install the process-wide publisher (``None`` removes it); returns the previous one."""
    global _publisher
    previous, _publisher = _publisher, publisher
    return previous


def get_publisher() -> Publisher | None:
    return _publisher


def queued_count(session: AsyncSession | Session) -> int:
    """How many events the session holds for its commit (a push batch compares before/after)."""
    return len(sync_session(session).info.get(_EVENTS_KEY) or ())


def queue_event(session: AsyncSession | Session, topic: str, payload: dict[str, Any]) -> None:
    """Announce ``payload`` on ``topic`` once the session's transaction commits."""
    sync = sync_session(session)
    sync.info.setdefault(_EVENTS_KEY, []).append((current_transaction(sync), Event(topic, payload)))


def _after_commit(session: Session) -> None:
    root = session.get_transaction()
    if root is not None and root.is_active:
        return  # a savepoint was released; the real commit is still to come
    queued: list[tuple[Any, Event]] = session.info.pop(_EVENTS_KEY, [])
    touched: set[str] = session.info.pop(TOUCHED_SCOPES_KEY, set())
    if _publisher is None or not (queued or touched):
        return
    try:
        _publisher(Committed([e for _, e in queued], frozenset(touched)))
    except Exception:  # the data is committed; a lost live hint is recovered by the next pull
        log.exception("publishing %d committed events failed", len(queued))


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        return  # the root's end is handled below
    drop_rolled_back(session, _EVENTS_KEY, previous_transaction)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # A committed root already handed its events over in after_commit; whatever is left belongs
    # to a transaction that rolled back or was closed without committing.
    if transaction.parent is None:
        session.info.pop(_EVENTS_KEY, None)
        session.info.pop(TOUCHED_SCOPES_KEY, None)


def install_hooks() -> None:
    """Attach the listeners to every ORM session (idempotent)."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
        event.listen(Session, "after_transaction_end", _after_transaction_end)


install_hooks()

__all__ = ["Committed", "Event", "Publisher", "get_publisher", "queue_event", "queued_count", "set_publisher"]
