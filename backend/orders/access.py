"""The one place order-domain rows (orders, lines, deliveries, acceptances, claims) are scoped.

Purchase rows are seen by the distributor's and the supplier's people; sales rows by the
distributor's people and the terminal. Administrators see everything, everyone else nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import InvalidInput
from backend.identity import Actor

T = TypeVar("T")
MAX_LIMIT = 500


def visibility(actor: Actor, model: Any) -> Any:
    """A WHERE clause limiting ``model`` (a table with the party columns) to the actor's rows."""
    if actor.org_kind == "supplier":
        return and_(model.kind == "purchase", model.supplier_id == actor.org_id)
    if actor.org_kind == "distributor":
        return model.distributor_id == actor.org_id
    if actor.org_kind == "terminal":
        return and_(model.kind == "sales", model.terminal_id == actor.org_id)
    return false()


def visible(actor: Actor, model: Any, stmt: Select[Any]) -> Select[Any]:
    return stmt if actor.is_admin else stmt.where(visibility(actor, model))


def is_ref(value: object) -> bool:
    """Could ``value`` be a row id? (Anything else from a client is simply not found.)"""
    return isinstance(value, str) and 0 < len(value) <= 64


async def one(
    session: AsyncSession,
    actor: Actor,
    model: Any,
    row_id: object,
    not_found: Callable[[str], Exception],
    noun: str,
    *,
    lock: bool = False,
) -> Any:
    """The ``model`` row ``row_id`` if the actor may see it, locked for this transaction when
    ``lock``; else ``not_found`` ("<noun> <id> does not exist"), so nobody learns whether a row
    they may not see exists."""
    if not is_ref(row_id):
        raise not_found(f"{noun} {row_id} does not exist")
    stmt = visible(actor, model, select(model).where(model.id == row_id))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise not_found(f"{noun} {row_id} does not exist")
    return row


def can_see(actor: Actor, row: Any) -> bool:
    if actor.is_admin:
        return True
    if actor.org_kind == "supplier":
        return row.kind == "purchase" and row.supplier_id == actor.org_id
    if actor.org_kind == "distributor":
        return row.distributor_id == actor.org_id
    if actor.org_kind == "terminal":
        return row.kind == "sales" and row.terminal_id == actor.org_id
    return False


@dataclass(slots=True)
class Listing(Generic[T]):
    items: list[T]
    next_cursor: str | None


async def page(
    session: AsyncSession, stmt: Select[Any], id_column: Any, *, cursor: str | None, limit: int
) -> Listing[Any]:
    """Keyset pagination over time-ordered ids: ``cursor`` is the last id of the previous page."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", code="invalid_limit")
    if cursor is not None:
        if not cursor or len(cursor) > 64:
            raise InvalidInput("cursor is not valid", code="invalid_cursor")
        stmt = stmt.where(id_column > cursor)
    rows: Sequence[Any] = (await session.execute(stmt.order_by(id_column).limit(limit + 1))).scalars().all()
    items = list(rows[:limit])
    return Listing(items=items, next_cursor=items[-1].id if len(rows) > limit else None)
