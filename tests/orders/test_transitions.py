"""Every step of the order state machine from every state, by every role, legal and illegal.

The expectations are written out here independently of ``backend.orders.states``.
Each attempt runs in a savepoint that is rolled back, so one order per state serves all.
"""

from __future__ import annotations

from typing import Any

import pytest

from backend.acceptance import service as acceptance
from backend.errors import DomainError
from backend.orders import service as orders
from tests.orders.kit import ROLE_NAMES, bring_to, full_lines, purchase, sale

STATES = ("draft", "submitted", "confirmed", "shipped", "delivered", "rejected", "cancelled")
LEGAL_FROM = {
    "edit": {"draft"},
    "submit": {"draft"},
    "cancel": {"draft", "submitted"},
    "confirm": {"submitted"},
    "reject": {"submitted"},
    "ship": {"confirmed"},
}
TARGET = {
    "submit": "submitted",
    "cancel": "cancelled",
    "confirm": "confirmed",
    "reject": "rejected",
    "ship": "shipped",
}
WHO = {
    "purchase": {
        "buyer": {"dist_staff", "admin"},
        "seller": {"supplier", "admin"},
        "receiver": {"dist_staff", "inspector", "admin"},
        "sees": {"dist_staff", "field", "inspector", "supplier", "admin"},
    },
    "sales": {
        "buyer": {"dist_staff", "field", "admin"},
        "seller": {"dist_staff", "admin"},
        "receiver": {"dist_staff", "field", "inspector", "admin"},
        "sees": {"dist_staff", "field", "inspector", "admin"},
    },
}
SIDE = {
    "edit": "buyer",
    "submit": "buyer",
    "cancel": "buyer",
    "confirm": "seller",
    "reject": "seller",
    "ship": "seller",
}


def expected(kind: str, action: str, state: str, role: str) -> str:
    who = WHO[kind]
    if role not in who["sees"]:
        return "order_not_found"
    if role not in who[SIDE[action]]:
        return "forbidden"
    if state not in LEGAL_FROM[action]:
        return "order_not_editable" if action == "edit" else "invalid_transition"
    return "draft" if action == "edit" else TARGET[action]


async def attempt(session, cast, action: str, order_id: str, role: str) -> Any:
    a = cast[role]
    if action == "edit":
        await orders.set_line(session, a, order_id=order_id, product_id=cast.product("dairy"), qty=2)
    elif action == "reject":
        await orders.reject_order(session, a, order_id=order_id, reason="no")
    elif action == "ship":
        await orders.ship_order(session, a, order_id=order_id, delivery_note="n")
    else:
        await getattr(orders, f"{action}_order")(session, a, order_id=order_id)
    return (await orders.get_order(session, cast["admin"], order_id=order_id)).state


async def outcome(session, coro_factory) -> tuple[str, Any]:
    savepoint = await session.begin_nested()
    try:
        result = await coro_factory()
        return "ok", result
    except DomainError as err:
        return err.code, err
    finally:
        await savepoint.rollback()


@pytest.mark.parametrize("kind", ["purchase", "sales"])
async def test_every_step_from_every_state_by_every_role(session, cast, kind):
    make = purchase if kind == "purchase" else sale
    by_state = {
        state: (await bring_to(session, cast, await make(session, cast), state)).id for state in STATES
    }
    wrong = []
    for state, order_id in by_state.items():
        for action in LEGAL_FROM:
            for role in ROLE_NAMES:
                want = expected(kind, action, state, role)
                got, result = await outcome(
                    session, lambda a=action, o=order_id, r=role: attempt(session, cast, a, o, r)
                )
                if got == "ok":
                    got = result
                if got != want:
                    wrong.append((state, action, role, want, got))
                if got == "invalid_transition" or got == "order_not_editable":
                    assert result.details["state"] == state
    assert wrong == []


@pytest.mark.parametrize("kind", ["purchase", "sales"])
async def test_acceptance_is_the_receivers_step_from_shipped_only(session, cast, kind):
    make = purchase if kind == "purchase" else sale
    shipped = await bring_to(session, cast, await make(session, cast), "shipped")
    delivered = await bring_to(session, cast, await make(session, cast), "delivered")
    wrong = []
    for order in (shipped, delivered):
        state = order.state
        delivery = (await orders.list_deliveries(session, cast["admin"], kind=kind)).items
        delivery = next(d for d in delivery if d.order_id == order.id)
        lines = full_lines(await orders.delivery_lines(session, delivery.id))
        order_id, delivery_id = order.id, delivery.id
        for role in ROLE_NAMES:
            who = WHO[kind]
            if role not in who["sees"]:
                want = "delivery_not_found"
            elif role not in who["receiver"]:
                want = "forbidden"
            elif state == "delivered":
                want = "acceptance_exists"
            else:
                want = "delivered"

            async def accept(d=delivery_id, r=role, ls=lines, o=order_id):
                await acceptance.record_acceptance(
                    session, cast[r], acceptance_id=None, delivery_id=d, lines=ls
                )
                return (await orders.get_order(session, cast["admin"], order_id=o)).state

            got, result = await outcome(session, accept)
            if got == "ok":
                got = result
            if got != want:
                wrong.append((state, role, want, got))
    assert wrong == []
