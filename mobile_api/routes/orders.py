"""Orders and deliveries over REST; acceptance and claim routes live in ``orders_acceptance``.

Thin: parse, call ``backend.orders.service``, shape the answer. Scoping, state checks and
channel rules are all in the service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Response, get, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from backend.bounds import one_of
from backend.identity import Actor
from backend.orders import Delivery, DeliveryLine, Order, OrderLine
from backend.orders import service as orders
from backend.orders.states import allowed_actions
from mobile_api.params import PathId, QueryId
from mobile_api.routes import orders_acceptance
from mobile_api.routes.orders_params import ClientId, Cursor, Id, Limit, StateFilter
from mobile_api.schemas import Page, Strict, created_or_existing, existed

Qty = Annotated[int, msgspec.Meta(ge=0, le=orders.MAX_QTY)]


OrderKind = one_of("purchase", "sales")


class LineIn(Strict):
    product_id: Id
    qty: Annotated[int, msgspec.Meta(ge=1, le=orders.MAX_QTY)]


class OrderIn(Strict):
    kind: OrderKind
    id: ClientId | None = None
    supplier_id: Id | None = None
    terminal_id: Id | None = None
    distributor_id: Id | None = None
    lines: Annotated[list[LineIn], msgspec.Meta(max_length=orders.MAX_LINES)] = []


class QtyIn(Strict):
    qty: Qty


class RejectIn(Strict):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=orders.MAX_TEXT)]


class ShipIn(Strict):
    delivery_note: Annotated[str, msgspec.Meta(max_length=orders.MAX_TEXT)] = ""
    delivery_id: ClientId | None = None


class OrderLineOut(msgspec.Struct):
    id: str
    product_id: str
    qty: int
    unit_price_minor: int | None
    line_total_minor: int | None

    @classmethod
    def of(cls, line: OrderLine) -> OrderLineOut:
        return cls(line.id, line.product_id, line.qty, line.unit_price_minor, line.line_total_minor)


class OrderOut(msgspec.Struct):
    id: str
    kind: str
    state: str
    distributor_id: str
    supplier_id: str | None
    terminal_id: str | None
    currency: str | None
    total_minor: int | None
    created_by: str
    created_at: datetime
    submitted_at: datetime | None
    confirmed_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    closed_at: datetime | None
    reject_reason: str | None
    version: int
    lines: list[OrderLineOut] | None = None
    actions: list[str] | None = None
    number: str | None = None  # PO-2026-000123 / SO-…: to read aloud (None for rows older than it)

    @classmethod
    def of(cls, o: Order, lines: list[OrderLine] | None = None, actions: list[str] | None = None) -> OrderOut:
        return cls(
            o.id,
            o.kind,
            o.state,
            o.distributor_id,
            o.supplier_id,
            o.terminal_id,
            o.currency,
            o.total_minor,
            o.created_by,
            o.created_at,
            o.submitted_at,
            o.confirmed_at,
            o.shipped_at,
            o.delivered_at,
            o.closed_at,
            o.reject_reason,
            o.version,
            [OrderLineOut.of(line) for line in lines] if lines is not None else None,
            actions,
            o.number,
        )


class DeliveryLineOut(msgspec.Struct):
    id: str
    order_line_id: str
    product_id: str
    qty: int


class DeliveryOut(msgspec.Struct):
    id: str
    order_id: str
    kind: str
    state: str
    distributor_id: str
    supplier_id: str | None
    terminal_id: str | None
    delivery_note: str
    shipped_at: datetime
    accepted_at: datetime | None
    lines: list[DeliveryLineOut] | None = None
    number: str | None = None  # DN-2026-000123

    @classmethod
    def of(cls, d: Delivery, lines: list[DeliveryLine] | None = None) -> DeliveryOut:
        return cls(
            d.id,
            d.order_id,
            d.kind,
            d.state,
            d.distributor_id,
            d.supplier_id,
            d.terminal_id,
            d.delivery_note,
            d.shipped_at,
            d.accepted_at,
            [DeliveryLineOut(x.id, x.order_line_id, x.product_id, x.qty) for x in lines]
            if lines is not None
            else None,
            d.number,
        )


async def _full(session: AsyncSession, actor: Actor, order: Order) -> OrderOut:
    return OrderOut.of(order, await orders.order_lines(session, order.id), allowed_actions(actor, order))


@post(
    "/orders",
    tags=["orders"],
    summary="Create a draft purchase or sales order (client id optional)",
    responses=existed(OrderOut),
)
async def create_order(data: OrderIn, actor: Actor, db_session: AsyncSession) -> Response[OrderOut]:
    order = await orders.create_order(
        db_session,
        actor,
        order_id=data.id,
        kind=data.kind,  # type: ignore[arg-type]
        supplier_id=data.supplier_id,
        terminal_id=data.terminal_id,
        distributor_id=data.distributor_id,
        lines=[(line.product_id, line.qty) for line in data.lines],
    )
    return created_or_existing(db_session, order, await _full(db_session, actor, order))


@get("/orders", tags=["orders"], summary="Orders the caller may see, filtered, oldest first")
async def list_orders(
    actor: Actor,
    db_session: AsyncSession,
    cursor: Cursor,
    limit: Limit,
    state_filter: StateFilter = None,
    kind: QueryId = None,
    supplier_id: QueryId = None,
    distributor_id: QueryId = None,
    terminal_id: QueryId = None,
) -> Page[OrderOut]:
    listing = await orders.list_orders(
        db_session,
        actor,
        state=state_filter,
        kind=kind,
        supplier_id=supplier_id,
        distributor_id=distributor_id,
        terminal_id=terminal_id,
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[OrderOut.of(o) for o in listing.items], next_cursor=listing.next_cursor)


@get("/orders/{order_id:str}", tags=["orders"])
async def get_order(order_id: PathId, actor: Actor, db_session: AsyncSession) -> OrderOut:
    return await _full(db_session, actor, await orders.get_order(db_session, actor, order_id=order_id))


@put("/orders/{order_id:str}/lines/{product_id:str}", tags=["orders"], summary="Set a draft line (0 removes)")
async def set_line(
    order_id: PathId, product_id: PathId, data: QtyIn, actor: Actor, db_session: AsyncSession
) -> OrderOut:
    order = await orders.set_line(db_session, actor, order_id=order_id, product_id=product_id, qty=data.qty)
    return await _full(db_session, actor, order)


@post("/orders/{order_id:str}/submit", tags=["orders"], status_code=200)
async def submit_order(order_id: PathId, actor: Actor, db_session: AsyncSession) -> OrderOut:
    return await _full(db_session, actor, await orders.submit_order(db_session, actor, order_id=order_id))


@post("/orders/{order_id:str}/cancel", tags=["orders"], status_code=200)
async def cancel_order(order_id: PathId, actor: Actor, db_session: AsyncSession) -> OrderOut:
    return await _full(db_session, actor, await orders.cancel_order(db_session, actor, order_id=order_id))


@post("/orders/{order_id:str}/confirm", tags=["orders"], status_code=200)
async def confirm_order(order_id: PathId, actor: Actor, db_session: AsyncSession) -> OrderOut:
    return await _full(db_session, actor, await orders.confirm_order(db_session, actor, order_id=order_id))


@post("/orders/{order_id:str}/reject", tags=["orders"], status_code=200)
async def reject_order(order_id: PathId, data: RejectIn, actor: Actor, db_session: AsyncSession) -> OrderOut:
    order = await orders.reject_order(db_session, actor, order_id=order_id, reason=data.reason)
    return await _full(db_session, actor, order)


@post("/orders/{order_id:str}/ship", tags=["orders"], summary="Ship a confirmed order: creates its delivery")
async def ship_order(order_id: PathId, data: ShipIn, actor: Actor, db_session: AsyncSession) -> DeliveryOut:
    delivery = await orders.ship_order(
        db_session, actor, order_id=order_id, delivery_note=data.delivery_note, delivery_id=data.delivery_id
    )
    return DeliveryOut.of(delivery, await orders.delivery_lines(db_session, delivery.id))


@get("/deliveries", tags=["orders"])
async def list_deliveries(
    actor: Actor,
    db_session: AsyncSession,
    cursor: Cursor,
    limit: Limit,
    state_filter: StateFilter = None,
    kind: QueryId = None,
) -> Page[DeliveryOut]:
    listing = await orders.list_deliveries(
        db_session, actor, state=state_filter, kind=kind, cursor=cursor, limit=limit
    )
    return Page(items=[DeliveryOut.of(d) for d in listing.items], next_cursor=listing.next_cursor)


@get("/deliveries/{delivery_id:str}", tags=["orders"])
async def get_delivery(delivery_id: PathId, actor: Actor, db_session: AsyncSession) -> DeliveryOut:
    delivery = await orders.get_delivery(db_session, actor, delivery_id=delivery_id)
    return DeliveryOut.of(delivery, await orders.delivery_lines(db_session, delivery.id))


ROUTES: list[Any] = [
    create_order,
    list_orders,
    get_order,
    set_line,
    submit_order,
    cancel_order,
    confirm_order,
    reject_order,
    ship_order,
    list_deliveries,
    get_delivery,
    *orders_acceptance.ROUTES,
]
