"""The one place inventory decides who may count where and who sees which stock."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Select, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog import Product
from backend.errors import DomainError
from backend.identity import Actor
from backend.identity.errors import NotAllowed
from backend.inventory.errors import LocationNotFound
from backend.territory.service import (
    OrgFacts,
    get_terminal,
    require_terminal_access,
    terminal_access_refusal,
    terminal_refusal,
)

WAREHOUSE_ROLES = ("distributor_staff", "inspector")


class Place(Protocol):
    """Where stock is: a location, or a level row (which repeats its location's parties)."""

    distributor_id: str
    terminal_id: str | None


async def require_can_count(session: AsyncSession, actor: Actor, location: Place) -> None:
    """Warehouses: the distributor's staff and inspectors. Shelves: whoever may work at the terminal."""
    if (refusal := count_refusal(actor, location)) is not None:
        raise refusal
    if not actor.is_admin and location.terminal_id is not None:
        await require_terminal_access(session, actor, await get_terminal(session, location.terminal_id))


def count_refusal(actor: Actor, location: Place) -> DomainError | None:
    """The part of :func:`require_can_count` that needs no reads; a shelf (``terminal_id`` set)
    then also needs the terminal's access rule (:func:`shelf_refusal`)."""
    if actor.is_admin:
        return None
    if actor.org_id != location.distributor_id:
        return LocationNotFound("no such stock location")  # another distributor's looks missing
    if location.terminal_id is None and actor.role not in WAREHOUSE_ROLES:
        return NotAllowed("only the distributor's staff and inspectors count its warehouse")
    return None


def shelf_refusal(
    actor: Actor, location: Place, terminal: OrgFacts | None, on_route: bool
) -> DomainError | None:
    """:func:`require_can_count` on facts read already: ``terminal`` is the organisation of the
    location's ``terminal_id`` (``None``: no such row), ``on_route`` whether it is on the actor's
    route."""
    if (refusal := count_refusal(actor, location)) is not None:
        return refusal
    if actor.is_admin or location.terminal_id is None:
        return None
    if (refusal := terminal_refusal(location.terminal_id, terminal)) is not None:
        return refusal
    assert terminal is not None
    return terminal_access_refusal(actor, terminal, on_route)


def stock_visibility(actor: Actor, stmt: Select, model: type) -> Select:
    """Restrict a query over a model with ``distributor_id`` and ``product_id`` columns.

    Distributors see their warehouse and their terminals' shelves; suppliers see the stock of
    their own products; administrators see everything; anyone else nothing.
    """
    if actor.is_admin:
        return stmt
    if actor.org_kind == "distributor":
        return stmt.where(model.distributor_id == actor.org_id)
    if actor.org_kind == "supplier":
        return stmt.where(model.product_id.in_(select(Product.id).where(Product.supplier_id == actor.org_id)))
    return stmt.where(false())
