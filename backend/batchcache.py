"""A memo for one push batch: answers that stay the same for every mutation of the batch.

The sync push engine opens it for the length of a batch (:func:`open_batch_cache`) and closes it
after; services ask :func:`batch_cache` for a named dict and get ``None`` outside a batch (REST
requests, jobs), where they simply ask the database. Only facts no sync mutation can change
belong here (route membership, the stock location of an organisation).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backend.txlocal import sync_session

_KEY = "fieldsync_batch_cache"


def _info(session: AsyncSession | Session) -> dict[str, Any]:
    return sync_session(session).info


def open_batch_cache(session: AsyncSession | Session) -> None:
    _info(session)[_KEY] = {}


def reset_batch_cache(session: AsyncSession | Session) -> None:
    """Forget what the batch memoised (its savepoint rolled back: a memo may name a row it made)."""
    if _KEY in _info(session):
        open_batch_cache(session)


def close_batch_cache(session: AsyncSession | Session) -> None:
    _info(session).pop(_KEY, None)


def batch_cache(session: AsyncSession | Session, name: str) -> dict[Any, Any] | None:
    """The batch's memo called ``name`` (created empty), or ``None`` outside a batch."""
    memo = _info(session).get(_KEY)
    return None if memo is None else memo.setdefault(name, {})
