"""Cursor pagination over time-ordered ids.

``cursor`` and ``limit`` arrive bounded by the routes' parameter types (``mobile_api.params.Cursor``,
each module's ``Limit``: at most :data:`MAX_LIMIT`); nothing here re-checks them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from mobile_api.schemas import Page

T = TypeVar("T")
MAX_LIMIT = 500


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    id_column: Any,
    convert: Callable[[Any], T],
    *,
    cursor: str | None,
    limit: int,
) -> Page[T]:
    if cursor:
        stmt = stmt.where(id_column > cursor)
    rows: Sequence[Any] = (await session.execute(stmt.order_by(id_column).limit(limit + 1))).scalars().all()
    items = [convert(r) for r in rows[:limit]]
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)
