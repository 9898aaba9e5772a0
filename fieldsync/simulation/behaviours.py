"""What people do on their phones during the day, as mutations queued in the outbox.

Each behaviour belongs to some roles, has a weight (how often, relative to the others of the
role) and names the mutations it needs; the playbook keeps only the behaviours whose
mutations the server publishes in ``GET /sync/v1/schema``, so the simulator runs against
whatever the server supports. A behaviour looks at the phone's replica (what the person sees)
to choose what to do and returns False when there is nothing to do (no products yet…).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from backend.db import new_id, utcnow
from fieldsync.simulation.phone import Phone

Act = Callable[[Phone], bool]


@dataclass(frozen=True)
class Behaviour:
    name: str
    roles: tuple[str, ...]
    weight: int
    needs: tuple[str, ...]
    act: Act


BEHAVIOURS: list[Behaviour] = []


def behaviour(
    name: str, *, roles: tuple[str, ...], weight: int, needs: tuple[str, ...]
) -> Callable[[Act], Act]:
    def register(act: Act) -> Act:
        BEHAVIOURS.append(Behaviour(name, roles, weight, needs, act))
        return act

    return register


ALL_ROLES = ("field_staff", "distributor_staff", "inspector", "supplier_staff", "support_agent")


@behaviour("rename myself", roles=ALL_ROLES, weight=1, needs=("profile.update",))
def rename(phone: Phone) -> bool:
    phone.queue("profile.update", {"display_name": f"{phone.spec.username} {phone.rng.randrange(1000)}"})
    return True


def _orderable(phone: Phone, n: int) -> list[str]:
    """Products of categories the phone's distributor is authorised to sell (from the replica)."""
    cats = [a["category_id"] for a in phone.entities("authorisation", limit=20) if a.get("active", True)]
    if not cats:
        return []
    marks = ",".join("?" * len(cats))
    rows = phone.entities(
        "product", limit=n, where=f"AND json_extract(data, '$.category_id') IN ({marks})", params=tuple(cats)
    )
    return [r["id"] for r in rows]


def _route(phone: Phone) -> list[str]:
    return [
        r["terminal_id"]
        for r in phone.entities("route_assignment", limit=20)
        if r.get("user_id") == phone.spec.user_id
    ]


@behaviour("count shelf stock", roles=("field_staff",), weight=5, needs=("stock_check.record",))
def count_shelf(phone: Phone) -> bool:
    route, products = _route(phone), _orderable(phone, 3)
    if not route or not products:
        return False
    terminal = phone.rng.choice(route)
    for product in products:
        phone.queue(
            "stock_check.record",
            {
                "id": new_id(),
                "org_id": terminal,
                "product_id": product,
                "counted_qty": phone.rng.randrange(0, 120),
                "observed_at": utcnow().isoformat(),
            },
        )
    return True


@behaviour("count the warehouse", roles=("distributor_staff",), weight=2, needs=("stock_check.record",))
def count_warehouse(phone: Phone) -> bool:
    products = _orderable(phone, 2)
    for product in products:
        phone.queue(
            "stock_check.record",
            {
                "id": new_id(),
                "org_id": phone.spec.org_id,
                "product_id": product,
                "counted_qty": phone.rng.randrange(0, 2000),
                "observed_at": utcnow().isoformat(),
            },
        )
    return bool(products)


def _order(phone: Phone, kind: str, party: dict[str, str]) -> bool:
    products = _orderable(phone, phone.rng.randrange(1, 5))
    if not products:
        return False
    order_id = new_id()
    lines = [{"product_id": p, "qty": phone.rng.randrange(1, 30)} for p in products]
    phone.queue("order.create", {"id": order_id, "kind": kind, **party, "lines": lines})
    if phone.rng.random() < 0.5:  # a second thought before submitting
        phone.queue(
            "order.update_line",
            {"order_id": order_id, "product_id": products[0], "qty": phone.rng.randrange(0, 30)},
        )
    if phone.rng.random() < 0.9:
        phone.queue("order.submit", {"order_id": order_id})
    return True


@behaviour(
    "take a sales order",
    roles=("field_staff",),
    weight=3,
    needs=("order.create", "order.update_line", "order.submit"),
)
def sales_order(phone: Phone) -> bool:
    route = _route(phone)
    return bool(route) and _order(phone, "sales", {"terminal_id": phone.rng.choice(route)})


@behaviour(
    "place a purchase order",
    roles=("distributor_staff",),
    weight=3,
    needs=("order.create", "order.update_line", "order.submit"),
)
def purchase_order(phone: Phone) -> bool:
    suppliers = {a["supplier_id"] for a in phone.entities("authorisation", limit=20)}
    return bool(suppliers) and _order(phone, "purchase", {"supplier_id": phone.rng.choice(sorted(suppliers))})


@behaviour(
    "confirm or ship an order", roles=("supplier_staff",), weight=4, needs=("order.confirm", "order.ship")
)
def confirm_or_ship(phone: Phone) -> bool:
    state = phone.rng.choice(["submitted", "confirmed"])
    orders = phone.entities("order", limit=1, where="AND json_extract(data, '$.state') = ?", params=(state,))
    if not orders:
        return False
    if state == "submitted":
        phone.queue("order.confirm", {"order_id": orders[0]["id"]})
    else:
        phone.queue("order.ship", {"order_id": orders[0]["id"], "delivery_id": new_id()})
    return True


@behaviour("accept a delivery", roles=("inspector",), weight=4, needs=("acceptance.record",))
def accept_delivery(phone: Phone) -> bool:
    """Count each line of a delivery in transit: mostly all there, sometimes short or damaged."""
    in_transit = "AND json_extract(data, '$.state') = 'in_transit'"
    deliveries = phone.entities("delivery", limit=1, where=in_transit)
    if not deliveries:
        return False
    of_delivery = "AND json_extract(data, '$.delivery_id') = ?"
    lines = phone.entities("delivery_line", limit=500, where=of_delivery, params=(deliveries[0]["id"],))
    if not lines:
        return False
    counted = []
    for line in lines:
        short = phone.rng.choice([0, 0, 0, 1]) if line["qty"] > 1 else 0
        damaged = phone.rng.choice([0, 0, 0, 0, 1]) if line["qty"] - short > 1 else 0
        counted.append(
            {
                "delivery_line_id": line["id"],
                "accepted": line["qty"] - short - damaged,
                "short": short,
                "damaged": damaged,
            }
        )
    phone.queue(
        "acceptance.record",
        {
            "id": new_id(),
            "delivery_id": deliveries[0]["id"],
            "lines": counted,
            "accepted_at": utcnow().isoformat(),
        },
    )
    return True


@behaviour("chat", roles=ALL_ROLES, weight=2, needs=("message.send",))
def chat(phone: Phone) -> bool:
    member_of = "AND json_extract(data, '$.user_id') = ?"
    mine = phone.entities("conversation_member", limit=1, where=member_of, params=(phone.spec.user_id,))
    if not mine:
        return False
    phone.queue(
        "message.send",
        {
            "conversation_id": mine[0]["conversation_id"],
            "client_message_id": new_id(),
            "body": f"update from {phone.spec.username} #{phone.rng.randrange(10_000)}",
        },
    )
    return True


class Playbook:
    """The behaviours a server supports, chosen by role and weight for each action."""

    def __init__(self, available: set[str]) -> None:
        self.available = available
        self.by_role: dict[str, list[Behaviour]] = {}
        for b in BEHAVIOURS:
            if set(b.needs) <= available:
                for role in b.roles:
                    self.by_role.setdefault(role, []).append(b)

    def names(self) -> list[str]:
        return sorted({b.name for bs in self.by_role.values() for b in bs})

    def act(self, phone: Phone) -> None:
        """Do one thing: a weighted pick among the role's behaviours, falling back until one acts."""
        options = list(self.by_role.get(phone.spec.role, ()))
        while options:
            pick = phone.rng.choices(options, weights=[b.weight for b in options])[0]
            if pick.act(phone):
                phone.tally.events[f"did: {pick.name}"] += 1
                return
            options.remove(pick)
