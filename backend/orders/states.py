"""The order state machine: which step is legal from which state, and who may take it.

draft → submitted → confirmed → shipped → delivered, or rejected / cancelled. The buyer
(distributor staff; field staff too for a terminal's sales order) edits, submits and cancels
before confirmation; the seller (the supplier's staff for a purchase order, the distributor's
staff for a sales order) confirms, rejects and ships; the receiver records the acceptance
that delivers it. Administrators may take any legal step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from backend.identity import Actor
from backend.identity.errors import NotAllowed
from backend.orders.errors import InvalidTransition, OrderNotEditable
from backend.orders.models import Order

Side = Literal["buyer", "seller", "receiver"]


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    sources: frozenset[str]
    target: str
    side: Side


STEPS: dict[str, Step] = {
    s.name: s
    for s in (
        Step("edit", frozenset({"draft"}), "draft", "buyer"),
        Step("submit", frozenset({"draft"}), "submitted", "buyer"),
        Step("cancel", frozenset({"draft", "submitted"}), "cancelled", "buyer"),
        Step("confirm", frozenset({"submitted"}), "confirmed", "seller"),
        Step("reject", frozenset({"submitted"}), "rejected", "seller"),
        Step("ship", frozenset({"confirmed"}), "shipped", "seller"),
        Step("deliver", frozenset({"shipped"}), "delivered", "receiver"),
    )
}

ROLES: dict[tuple[str, Side], tuple[str, ...]] = {
    ("purchase", "buyer"): ("distributor_staff",),
    ("purchase", "seller"): ("supplier_staff",),
    ("purchase", "receiver"): ("distributor_staff", "inspector"),
    ("sales", "buyer"): ("field_staff", "distributor_staff"),
    ("sales", "seller"): ("distributor_staff",),
    ("sales", "receiver"): ("field_staff", "distributor_staff", "inspector"),
}


def side_org(order: Order, side: Side) -> str:
    """The organisation acting on ``side`` of the order."""
    if side == "seller" and order.kind == "purchase":
        return order.supplier_id or ""
    return order.distributor_id


def may_act(actor: Actor, order: Order, side: Side) -> bool:
    if actor.is_admin:
        return True
    return actor.org_id == side_org(order, side) and actor.role in ROLES[(order.kind, side)]


def check_step(actor: Actor, order: Order, name: str) -> Step:
    """Refuse a step the actor may not take (forbidden) or the state does not allow (conflict)."""
    step = STEPS[name]
    if not may_act(actor, order, step.side):
        roles = " or ".join(ROLES[(order.kind, step.side)])
        raise NotAllowed(f"only the {step.side}'s {roles} may {name} this {order.kind} order")
    if order.state not in step.sources:
        details = {"state": order.state, "action": name}
        if name == "edit":
            raise OrderNotEditable(f"the order is {order.state}; only a draft can be edited", details=details)
        raise InvalidTransition(f"cannot {name} an order that is {order.state}", details=details)
    return step


def allowed_actions(actor: Actor, order: Order) -> list[str]:
    """The steps this actor could take now (for the phone's buttons)."""
    return [
        s.name
        for s in STEPS.values()
        if s.name != "edit" and order.state in s.sources and may_act(actor, order, s.side)
    ]
