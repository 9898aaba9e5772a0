"""Order services: create and edit drafts, walk the state machine, ship into a delivery.

Every function takes the session it works in (the caller commits) and the acting user;
reads and writes are scoped by ``backend.orders.access`` and steps checked by
``backend.orders.states``. Each transition locks the order row first (check, then do).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog import Product
from backend.db import new_id, utcnow
from backend.identity import Actor, Organisation
from backend.identity.errors import NotAllowed
from backend.orders import access, channel
from backend.orders.access import is_ref
from backend.orders.errors import (
    DeliveryNotFound,
    EmptyOrder,
    InvalidId,
    InvalidOrder,
    InvalidQuantity,
    OrderIdTaken,
    OrderNotFound,
    ProductNotOrderable,
    SupplierNotFound,
    TerminalNotFound,
)
from backend.orders.models import KINDS, STATES, Delivery, DeliveryLine, Order, OrderLine
from backend.orders.numbers import next_number
from backend.orders.states import ROLES, check_step
from backend.territory.service import OrgFacts, is_on_route, needs_route, terminal_access_refusal

ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
MAX_QTY = 1_000_000
MAX_LINES = 500
MAX_TEXT = 2000

Kind = Literal["purchase", "sales"]


def checked_id(value: str | None, what: str = "id") -> str:
    """A client-minted id (32 lowercase hex characters, like ``new_id()``), or a fresh one."""
    if value is None:
        return new_id()
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise InvalidId(f"{what} must be 32 lowercase hex characters", details={"field": what})
    return value


def _checked_qty(qty: object, *, allow_zero: bool) -> int:
    low = 0 if allow_zero else 1
    if isinstance(qty, bool) or not isinstance(qty, int) or not low <= qty <= MAX_QTY:
        raise InvalidQuantity(
            f"quantity must be a whole number from {low} to {MAX_QTY}", details={"qty": qty}
        )
    return qty


def _checked_text(value: object, what: str, *, required: bool) -> str:
    if value is not None and not isinstance(value, str):
        raise InvalidOrder(f"{what} must be text", code=f"invalid_{what}")
    value = (value or "").strip()
    if required and not value:
        raise InvalidOrder(f"{what} is required", code=f"{what}_required")
    if len(value) > MAX_TEXT:
        raise InvalidOrder(f"{what} is longer than {MAX_TEXT} characters", code=f"{what}_too_long")
    return value


def orderable_refusal(
    order_kind: str, supplier_id: str | None, wanted: set[str], found: dict[str, Product]
) -> ProductNotOrderable | None:
    """Why not every product of ``wanted`` may go on the order (``found``: the products read by
    those ids), or ``None``."""
    if not all(is_ref(pid) for pid in wanted):
        return ProductNotOrderable(
            "a product id is not valid", details={"product_ids": [str(p) for p in wanted]}
        )
    refused = sorted(
        pid
        for pid in wanted
        if (p := found.get(pid)) is None
        or not (p.active and (order_kind == "sales" or p.supplier_id == supplier_id))
    )
    if refused:
        return ProductNotOrderable(
            "unknown or inactive product, or not sold by the order's supplier",
            details={"product_ids": refused},
        )
    return None


async def _orderable_products(
    session: AsyncSession, order_kind: str, supplier_id: str | None, product_ids: Iterable[str]
) -> dict[str, Product]:
    wanted = set(product_ids)
    found: dict[str, Product] = {}
    if all(is_ref(pid) for pid in wanted):
        found = {
            p.id: p for p in (await session.execute(select(Product).where(Product.id.in_(wanted)))).scalars()
        }
    if (refusal := orderable_refusal(order_kind, supplier_id, wanted, found)) is not None:
        raise refusal
    return found


def _require_buyer(actor: Actor, kind: str, distributor_id: str) -> None:
    if actor.is_admin:
        return
    roles = ROLES[(kind, "buyer")]
    if actor.org_id != distributor_id or actor.role not in roles:
        raise NotAllowed(f"only the distributor's {' or '.join(roles)} may place {kind} orders")


def party_ids(
    actor: Actor, kind: str, supplier_id: str | None, terminal_id: str | None, distributor_id: str | None
) -> list[str]:
    """The organisations :func:`check_parties` reads (valid ids only; the rest is simply not found)."""
    if kind == "purchase":
        wanted = [
            supplier_id,
            distributor_id if distributor_id is not None or actor.is_admin else actor.org_id,
        ]
    else:
        wanted = [terminal_id]
    return [w for w in wanted if is_ref(w)]  # type: ignore[misc]


def check_parties(
    actor: Actor,
    kind: str,
    supplier_id: str | None,
    terminal_id: str | None,
    distributor_id: str | None,
    orgs: Mapping[str, OrgFacts],
    on_route: bool,
) -> tuple[str, str | None, str | None]:
    """(distributor, supplier, terminal) of a new order, checked against the actor, from the
    organisations :func:`party_ids` names (``orgs``, by id) and whether the terminal is on the
    actor's route (only asked when :func:`~backend.territory.service.needs_route`)."""
    if kind == "purchase":
        if terminal_id is not None:
            raise InvalidOrder("a purchase order has no terminal", details={"field": "terminal_id"})
        supplier = orgs.get(supplier_id) if is_ref(supplier_id) else None  # type: ignore[arg-type]
        if supplier is None or supplier.kind != "supplier" or not supplier.active:
            raise SupplierNotFound(f"supplier {supplier_id} does not exist")
        if distributor_id is None:
            if actor.is_admin:
                raise InvalidOrder("an administrator must name the distributor", code="distributor_required")
            distributor_id = actor.org_id
        distributor = orgs.get(distributor_id) if is_ref(distributor_id) else None
        if distributor is None or distributor.kind != "distributor":
            raise NotAllowed("purchase orders are placed by a distributor")
        _require_buyer(actor, kind, distributor_id)
        return distributor_id, supplier.id, None
    if supplier_id is not None:
        raise InvalidOrder("a sales order names a terminal, not a supplier", details={"field": "supplier_id"})
    terminal = orgs.get(terminal_id) if is_ref(terminal_id) else None  # type: ignore[arg-type]
    if terminal is None or terminal.kind != "terminal" or terminal.parent_id is None or not terminal.active:
        raise TerminalNotFound(f"terminal {terminal_id} does not exist")
    if not actor.is_admin and actor.org_id != terminal.parent_id:
        # Another distributor's terminal is simply not there for this caller.
        raise TerminalNotFound(f"terminal {terminal_id} does not exist")
    if distributor_id is not None and distributor_id != terminal.parent_id:
        raise InvalidOrder(
            "the terminal is served by another distributor", details={"field": "distributor_id"}
        )
    _require_buyer(actor, kind, terminal.parent_id)
    if actor.role == "field_staff" and (refusal := terminal_access_refusal(actor, terminal, on_route)):
        # Field staff take orders only at the terminals on their route.
        raise refusal
    return terminal.parent_id, None, terminal.id


async def _parties(
    session: AsyncSession,
    actor: Actor,
    kind: str,
    supplier_id: str | None,
    terminal_id: str | None,
    distributor_id: str | None,
) -> tuple[str, str | None, str | None]:
    """(distributor, supplier, terminal) of a new order, checked against the actor."""
    orgs = {}
    for org_id in party_ids(actor, kind, supplier_id, terminal_id, distributor_id):
        if (org := await session.get(Organisation, org_id)) is not None:
            orgs[org_id] = org
    terminal = orgs.get(terminal_id) if kind == "sales" and is_ref(terminal_id) else None  # type: ignore[arg-type]
    on_route = False
    if terminal is not None and terminal.kind == "terminal" and needs_route(actor, terminal):
        on_route = await is_on_route(session, actor.user_id, terminal.id)
    return check_parties(actor, kind, supplier_id, terminal_id, distributor_id, orgs, on_route)


def line_quantities(lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    """A new order's lines as {product: qty}, refusing malformed, too many or repeated lines."""
    if not isinstance(lines, list | tuple) or not all(
        isinstance(x, list | tuple) and len(x) == 2 for x in lines
    ):
        raise InvalidOrder("lines are (product_id, qty) pairs", code="invalid_lines")
    if len(lines) > MAX_LINES:
        raise InvalidOrder(f"an order has at most {MAX_LINES} lines", code="too_many_lines")
    quantities: dict[str, int] = {}
    for product_id, qty in lines:
        if product_id in quantities:
            raise InvalidOrder(
                "a product appears twice", code="duplicate_line", details={"product_id": product_id}
            )
        quantities[product_id] = _checked_qty(qty, allow_zero=False)
    return quantities


def retry_of(actor: Actor, existing: Any, kind: str, order_id: str) -> bool:
    """A create naming an existing order: ``True`` if it is the caller's own retry (the order
    is returned as it is), else :class:`OrderIdTaken`."""
    if existing.created_by == actor.user_id and existing.kind == kind and access.can_see(actor, existing):
        return True
    raise OrderIdTaken("an order with this id exists", details={"order_id": order_id})


async def create_order(
    session: AsyncSession,
    actor: Actor,
    *,
    order_id: str | None = None,
    kind: Kind,
    supplier_id: str | None = None,
    terminal_id: str | None = None,
    lines: Sequence[tuple[str, int]] = (),
    distributor_id: str | None = None,
) -> Order:
    """A draft purchase order to ``supplier_id``, or a sales order at ``terminal_id``.

    A repeated create with the same client id by the same user returns the existing order.
    ``distributor_id`` is only for administrators acting on a distributor's behalf.
    """
    if kind not in KINDS:
        raise InvalidOrder(f"kind must be one of {', '.join(KINDS)}", details={"field": "kind"})
    order_id = checked_id(order_id, "order_id")
    distributor_id, supplier_id, terminal_id = await _parties(
        session, actor, kind, supplier_id, terminal_id, distributor_id
    )
    existing = await session.get(Order, order_id)
    if existing is not None and retry_of(actor, existing, kind, order_id):
        return existing
    quantities = line_quantities(lines)
    await _orderable_products(session, kind, supplier_id, quantities)
    order = Order(
        id=order_id,
        kind=kind,
        distributor_id=distributor_id,
        supplier_id=supplier_id,
        terminal_id=terminal_id,
        state="draft",
        created_by=actor.user_id,
        number=await next_number(session, kind, Order, utcnow()),
    )
    session.add(order)
    await session.flush()
    for product_id, qty in quantities.items():
        session.add(_line(order, product_id, qty))
    await session.flush()
    return order


def _line(order: Order, product_id: str, qty: int) -> OrderLine:
    return OrderLine(
        order_id=order.id,
        product_id=product_id,
        qty=qty,
        kind=order.kind,
        distributor_id=order.distributor_id,
        supplier_id=order.supplier_id,
        terminal_id=order.terminal_id,
    )


async def _locked(session: AsyncSession, actor: Actor, order_id: str) -> Order:
    """The order, locked for this transaction, if the actor may see it."""
    return await access.one(session, actor, Order, order_id, OrderNotFound, "order", lock=True)


async def order_lines(session: AsyncSession, order_id: str) -> list[OrderLine]:
    """The lines of an order the caller has already been allowed to see."""
    stmt = select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id)
    return list((await session.execute(stmt)).scalars())


async def set_line(session: AsyncSession, actor: Actor, *, order_id: str, product_id: str, qty: int) -> Order:
    """Set one product's quantity on a draft (0 removes the line); other lines are untouched."""
    order = await _locked(session, actor, order_id)
    check_step(actor, order, "edit")
    qty = _checked_qty(qty, allow_zero=True)
    if not is_ref(product_id):
        raise ProductNotOrderable("a product id is not valid", details={"product_ids": [str(product_id)]})
    line = (
        await session.execute(
            select(OrderLine).where(OrderLine.order_id == order.id, OrderLine.product_id == product_id)
        )
    ).scalar_one_or_none()
    if line is None and qty > 0:
        await _orderable_products(session, order.kind, order.supplier_id, [product_id])
        session.add(_line(order, product_id, qty))
    elif line is not None and qty == 0:
        await session.delete(line)
    elif line is not None:
        line.qty = qty
    order.updated_at = utcnow()
    await session.flush()
    return order


async def submit_order(session: AsyncSession, actor: Actor, *, order_id: str) -> Order:
    """Check channel authorisation, price the lines and consume the regional quota."""
    order = await _locked(session, actor, order_id)
    check_step(actor, order, "submit")
    lines = await order_lines(session, order.id)
    if not lines:
        raise EmptyOrder("the order has no lines")
    products = await _orderable_products(
        session, order.kind, order.supplier_id, [ln.product_id for ln in lines]
    )
    region_org = order.terminal_id if order.kind == "sales" else order.distributor_id
    region_id = (await session.get(Organisation, region_org)).region_id  # type: ignore[union-attr]
    now = utcnow()
    today = now.date()
    ancestry = await channel.check_authorised(session, order, lines, products, region_id, today)
    await channel.apply_prices(session, order, lines)
    if order.kind == "purchase":
        # Quotas limit what a distributor buys from a supplier (sell-in); sales orders sell it on.
        await channel.consume_quotas(session, order, lines, products, ancestry, today)
    order.state = "submitted"
    order.region_id = region_id
    order.submitted_at = now
    order.submitted_by = actor.user_id
    await session.flush()
    return order


async def cancel_order(session: AsyncSession, actor: Actor, *, order_id: str) -> Order:
    """The buyer withdraws a draft or a submitted order; a submitted one gives its quota back."""
    order = await _locked(session, actor, order_id)
    check_step(actor, order, "cancel")
    await channel.release_quotas(session, order)
    _close(order, actor, "cancelled")
    await session.flush()
    return order


async def reject_order(session: AsyncSession, actor: Actor, *, order_id: str, reason: str) -> Order:
    """The seller refuses a submitted order, saying why; its quota is given back."""
    order = await _locked(session, actor, order_id)
    check_step(actor, order, "reject")
    order.reject_reason = _checked_text(reason, "reason", required=True)
    await channel.release_quotas(session, order)
    _close(order, actor, "rejected")
    await session.flush()
    return order


def _close(order: Order, actor: Actor, state: str) -> None:
    order.state = state
    order.closed_at = utcnow()
    order.closed_by = actor.user_id


async def confirm_order(session: AsyncSession, actor: Actor, *, order_id: str) -> Order:
    order = await _locked(session, actor, order_id)
    check_step(actor, order, "confirm")
    order.state = "confirmed"
    order.confirmed_at = utcnow()
    await session.flush()
    return order


async def ship_order(
    session: AsyncSession,
    actor: Actor,
    *,
    order_id: str,
    delivery_note: str = "",
    delivery_id: str | None = None,
) -> Delivery:
    """The seller ships a confirmed order in full: a delivery whose lines await acceptance."""
    order = await _locked(session, actor, order_id)
    check_step(actor, order, "ship")
    note = _checked_text(delivery_note, "delivery_note", required=False)
    delivery_id = checked_id(delivery_id, "delivery_id")
    if await session.get(Delivery, delivery_id) is not None:
        raise OrderIdTaken("a delivery with this id exists", code="delivery_id_taken")
    now = utcnow()
    parties = {
        "kind": order.kind,
        "distributor_id": order.distributor_id,
        "supplier_id": order.supplier_id,
        "terminal_id": order.terminal_id,
    }
    delivery = Delivery(
        id=delivery_id,
        order_id=order.id,
        delivery_note=note,
        shipped_at=now,
        shipped_by=actor.user_id,
        number=await next_number(session, "delivery", Delivery, now),
        **parties,
    )
    session.add(delivery)
    await session.flush()
    for line in await order_lines(session, order.id):
        session.add(
            DeliveryLine(
                delivery_id=delivery.id,
                order_line_id=line.id,
                product_id=line.product_id,
                qty=line.qty,
                **parties,
            )
        )
    order.state = "shipped"
    order.shipped_at = now
    await session.flush()
    return delivery


async def mark_delivered(session: AsyncSession, actor: Actor, order: Order) -> Order:
    """The receiver's acceptance completes the order (called by ``backend.acceptance``)."""
    check_step(actor, order, "deliver")
    order.state = "delivered"
    order.delivered_at = utcnow()
    await session.flush()
    return order


async def lock_order(session: AsyncSession, actor: Actor, *, order_id: str) -> Order:
    """The order locked for a step taken by another domain (acceptance)."""
    return await _locked(session, actor, order_id)


async def get_order(session: AsyncSession, actor: Actor, *, order_id: str) -> Order:
    return await access.one(session, actor, Order, order_id, OrderNotFound, "order")


async def list_orders(
    session: AsyncSession,
    actor: Actor,
    *,
    state: str | None = None,
    kind: str | None = None,
    supplier_id: str | None = None,
    distributor_id: str | None = None,
    terminal_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> access.Listing[Order]:
    """The orders the actor may see, oldest first, filtered; ``next_cursor`` pages on."""
    if state is not None and state not in STATES:
        raise InvalidOrder(f"state must be one of {', '.join(STATES)}", code="invalid_filter")
    if kind is not None and kind not in KINDS:
        raise InvalidOrder(f"kind must be one of {', '.join(KINDS)}", code="invalid_filter")
    for value in (supplier_id, distributor_id, terminal_id):
        if value is not None and not is_ref(value):
            raise InvalidOrder("an id filter is not valid", code="invalid_filter")
    stmt = access.visible(actor, Order, select(Order))
    for column, value in (
        (Order.state, state),
        (Order.kind, kind),
        (Order.supplier_id, supplier_id),
        (Order.distributor_id, distributor_id),
        (Order.terminal_id, terminal_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return await access.page(session, stmt, Order.id, cursor=cursor, limit=limit)


async def get_delivery(session: AsyncSession, actor: Actor, *, delivery_id: str) -> Delivery:
    return await access.one(session, actor, Delivery, delivery_id, DeliveryNotFound, "delivery")


async def delivery_lines(session: AsyncSession, delivery_id: str) -> list[DeliveryLine]:
    stmt = select(DeliveryLine).where(DeliveryLine.delivery_id == delivery_id).order_by(DeliveryLine.id)
    return list((await session.execute(stmt)).scalars())


async def list_deliveries(
    session: AsyncSession,
    actor: Actor,
    *,
    state: str | None = None,
    kind: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> access.Listing[Delivery]:
    if kind is not None and kind not in KINDS:
        raise InvalidOrder(f"kind must be one of {', '.join(KINDS)}", code="invalid_filter")
    if state is not None and state not in ("in_transit", "accepted"):
        raise InvalidOrder("state must be in_transit or accepted", code="invalid_filter")
    stmt = access.visible(actor, Delivery, select(Delivery))
    if state is not None:
        stmt = stmt.where(Delivery.state == state)
    if kind is not None:
        stmt = stmt.where(Delivery.kind == kind)
    return await access.page(session, stmt, Delivery.id, cursor=cursor, limit=limit)
