"""Which rows a session inserted. A create-or-return service (idempotent on a client's id) returns
the row either way; its caller asks :func:`inserted` to tell a creation from a repeat."""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

_KEY = "fieldsync_inserted_rows"


def _record_insert(session: Session, obj: Any) -> None:
    session.info.setdefault(_KEY, weakref.WeakSet()).add(obj)


def note_inserted(session: AsyncSession, obj: Any) -> None:
    """Record ``obj`` as inserted by ``session`` when a Core ``INSERT`` wrote it (not the ORM)."""
    _record_insert(session.sync_session, obj)


def inserted(session: AsyncSession, obj: Any) -> bool:
    """Whether ``obj`` was added in ``session`` (flushed since, or still pending)."""
    sync = session.sync_session
    return obj in sync.new or obj in sync.info.get(_KEY, ())


if not event.contains(Session, "pending_to_persistent", _record_insert):
    event.listen(Session, "pending_to_persistent", _record_insert)
