"""The happy paths of purchase and sales orders, drafts and their lines, client ids."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.acceptance import service as acceptance
from backend.changefeed import ChangeLog
from backend.db import new_id
from backend.errors import DomainError
from backend.orders import service as orders
from tests.orders.kit import bring_to, purchase, sale


async def test_purchase_order_walks_to_delivered(session, cast):
    order = await purchase(session, cast)
    assert order.state == "draft" and order.distributor_id == cast.distributor.id
    order = await orders.submit_order(session, cast["dist_staff"], order_id=order.id)
    lines = await orders.order_lines(session, order.id)
    assert order.state == "submitted" and order.currency == "CNY"
    assert all(line.unit_price_minor is not None for line in lines)
    assert order.total_minor == sum(line.unit_price_minor * line.qty for line in lines)
    order = await orders.confirm_order(session, cast["supplier"], order_id=order.id)
    delivery = await orders.ship_order(session, cast["supplier"], order_id=order.id, delivery_note="DN 42")
    assert delivery.delivery_note == "DN 42" and delivery.state == "in_transit"
    shipped = await orders.delivery_lines(session, delivery.id)
    assert sorted((x.product_id, x.qty) for x in shipped) == sorted((x.product_id, x.qty) for x in lines)
    delivered = await bring_to(session, cast, await purchase(session, cast), "delivered")
    assert delivered.state == "delivered" and delivered.delivered_at is not None


async def test_sales_order_at_a_terminal(session, cast):
    order = await sale(session, cast)
    assert order.kind == "sales" and order.terminal_id == cast.terminal.id
    assert order.distributor_id == cast.terminal.parent_id and order.supplier_id is None
    order = await bring_to(session, cast, order, "delivered")
    assert order.state == "delivered"


async def test_set_line_merges_per_line(session, cast):
    bev, snack, dairy = cast.product("beverages"), cast.product("snacks"), cast.product("dairy")
    order = await purchase(session, cast, (bev, 5), (snack, 3))
    await orders.set_line(session, cast["dist_staff"], order_id=order.id, product_id=dairy, qty=7)
    await orders.set_line(session, cast["dist_staff"], order_id=order.id, product_id=bev, qty=9)
    await orders.set_line(session, cast["dist_staff"], order_id=order.id, product_id=snack, qty=0)
    lines = {x.product_id: x.qty for x in await orders.order_lines(session, order.id)}
    assert lines == {bev: 9, dairy: 7}
    # Removing a line that is not there is a no-op, not an error.
    await orders.set_line(session, cast["dist_staff"], order_id=order.id, product_id=snack, qty=0)


async def test_client_minted_ids_are_accepted_validated_and_idempotent(session, cast):
    oid = new_id()
    line = [(cast.product("beverages"), 1)]
    first = await orders.create_order(
        session, cast["dist_staff"], order_id=oid, kind="purchase", supplier_id=cast.supplier.id, lines=line
    )
    again = await orders.create_order(
        session, cast["dist_staff"], order_id=oid, kind="purchase", supplier_id=cast.supplier.id, lines=line
    )
    assert first.id == again.id == oid
    with pytest.raises(DomainError) as taken:
        await orders.create_order(
            session,
            cast["admin"],
            order_id=oid,
            kind="purchase",
            supplier_id=cast.supplier.id,
            distributor_id=cast.distributor.id,
            lines=line,
        )
    assert taken.value.code == "order_id_taken"
    for bad in ("short", "X" * 32, oid.upper(), oid + "0"):
        with pytest.raises(DomainError) as err:
            await orders.create_order(
                session,
                cast["dist_staff"],
                order_id=bad,
                kind="purchase",
                supplier_id=cast.supplier.id,
                lines=line,
            )
        assert err.value.code == "invalid_id"


BAD_ORDERS = [
    ({"kind": "barter"}, "invalid_order"),
    ({"kind": "purchase", "supplier_id": None}, "supplier_not_found"),
    ({"kind": "purchase", "supplier_id": "0" * 32}, "supplier_not_found"),
    ({"kind": "sales", "terminal_id": None}, "terminal_not_found"),
    ({"kind": "sales", "terminal_id": "0" * 32}, "terminal_not_found"),
]


async def test_bad_orders_are_refused_with_stable_codes(session, cast):
    for kwargs, code in BAD_ORDERS:
        with pytest.raises(DomainError) as err:
            await orders.create_order(session, cast["dist_staff"], order_id=None, lines=[], **kwargs)
        assert err.value.code == code, kwargs
    # A terminal of another distributor, or a supplier given as a terminal, is simply not there.
    for terminal in (cast.net.org("shop-005"), cast.supplier):
        with pytest.raises(DomainError) as err:
            await orders.create_order(
                session, cast["field"], order_id=None, kind="sales", terminal_id=terminal.id
            )
        assert err.value.code == "terminal_not_found"
    # Field staff take orders only at terminals on their route; the distributor's staff anywhere.
    off_route = cast.net.org("shop-007")
    with pytest.raises(DomainError) as err:
        await orders.create_order(
            session, cast["field"], order_id=None, kind="sales", terminal_id=off_route.id
        )
    assert err.value.code == "terminal_not_on_route"
    order = await orders.create_order(
        session, cast["dist_staff"], order_id=None, kind="sales", terminal_id=off_route.id
    )
    assert order.terminal_id == off_route.id


async def test_bad_lines_are_refused(session, cast):
    bev = cast.product("beverages")
    cases = [
        ([(bev, 0)], "invalid_quantity"),
        ([(bev, -3)], "invalid_quantity"),
        ([(bev, orders.MAX_QTY + 1)], "invalid_quantity"),
        ([(bev, 1), (bev, 2)], "duplicate_line"),
        ([("0" * 32, 1)], "product_not_orderable"),
        ([(cast.product("beverages", "B"), 1)], "product_not_orderable"),  # another supplier's SKU
    ]
    for lines, code in cases:
        with pytest.raises(DomainError) as err:
            await purchase(session, cast, *lines)
        assert err.value.code == code, lines
    order = await purchase(session, cast)
    with pytest.raises(DomainError) as err:
        await orders.set_line(session, cast["dist_staff"], order_id=order.id, product_id=bev, qty=-1)
    assert err.value.code == "invalid_quantity"
    # An order emptied line by line cannot be submitted.
    order = await purchase(session, cast)
    for line in await orders.order_lines(session, order.id):
        await orders.set_line(
            session, cast["dist_staff"], order_id=order.id, product_id=line.product_id, qty=0
        )
    with pytest.raises(DomainError) as err:
        await orders.submit_order(session, cast["dist_staff"], order_id=order.id)
    assert err.value.code == "order_empty"
    # A rejection needs a reason.
    order = await bring_to(session, cast, await purchase(session, cast), "submitted")
    with pytest.raises(DomainError) as err:
        await orders.reject_order(session, cast["supplier"], order_id=order.id, reason="  ")
    assert err.value.code == "reason_required"
    order = await orders.reject_order(session, cast["supplier"], order_id=order.id, reason="discontinued")
    assert order.state == "rejected" and order.reject_reason == "discontinued"


async def test_orders_are_recorded_in_the_change_feed_with_their_scopes(session, cast):
    po = await purchase(session, cast)
    so = await sale(session, cast)
    await session.flush()
    rows = (
        await session.execute(select(ChangeLog.scope, ChangeLog.entity_id).where(ChangeLog.entity == "order"))
    ).all()
    scopes = {}
    for scope, entity_id in rows:
        scopes.setdefault(entity_id, set()).add(scope)
    assert scopes[po.id] == {f"org:{cast.distributor.id}", f"org:{cast.supplier.id}"}
    assert scopes[so.id] == {f"org:{cast.distributor.id}", f"terminal:{cast.terminal.id}"}
    line_scopes = (
        (await session.execute(select(ChangeLog.scope).where(ChangeLog.entity == "order_line")))
        .scalars()
        .all()
    )
    assert f"org:{cast.supplier.id}" in line_scopes and f"terminal:{cast.terminal.id}" in line_scopes


async def test_wrongly_typed_arguments_are_refused_not_crashed(session, cast):
    """What a phone's mutation might send: every one is a domain error, never a driver error."""
    order = await purchase(session, cast)
    dist = cast["dist_staff"]
    calls = [
        lambda: orders.create_order(session, dist, kind="purchase", supplier_id=5, lines=[]),
        lambda: orders.create_order(session, dist, kind=["purchase"], supplier_id=cast.supplier.id),
        lambda: orders.create_order(
            session, dist, kind="purchase", supplier_id=cast.supplier.id, lines="abc"
        ),
        lambda: orders.create_order(
            session, dist, kind="purchase", supplier_id=cast.supplier.id, lines=[[7, 1]]
        ),
        lambda: orders.create_order(session, dist, kind="sales", terminal_id={"x": 1}),
        lambda: orders.create_order(
            session, dist, order_id=12, kind="purchase", supplier_id=cast.supplier.id
        ),
        lambda: orders.set_line(session, dist, order_id=order.id, product_id=None, qty=1),
        lambda: orders.set_line(session, dist, order_id=order.id, product_id=cast.product("dairy"), qty="3"),
        lambda: orders.set_line(session, dist, order_id=order.id, product_id=cast.product("dairy"), qty=True),
        lambda: orders.submit_order(session, dist, order_id=123),
        lambda: orders.get_order(session, dist, order_id=None),
        lambda: orders.get_delivery(session, dist, delivery_id=4.5),
        lambda: orders.list_orders(session, dist, supplier_id=3),
        lambda: acceptance.record_acceptance(session, dist, delivery_id=[1], lines=[]),
        lambda: acceptance.record_acceptance(session, dist, delivery_id="0" * 32, lines="x"),
        lambda: acceptance.get_claim(session, dist, claim_id=1),
    ]
    for call in calls:
        with pytest.raises(DomainError):
            await call()
    assert (await orders.get_order(session, dist, order_id=order.id)).state == "draft"
