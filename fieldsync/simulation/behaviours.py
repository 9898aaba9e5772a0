"""What people do on their phones during the day, as mutations queued in the outbox.

Each behaviour belongs to some roles, has a weight (how often, relative to the others of the
role) and names the mutations it needs; the playbook keeps only the behaviours whose
mutations the server publishes in ``GET /sync/v1/schema``, so the simulator runs against
whatever the server supports. A behaviour looks at the phone's replica (what the person sees)
to choose what to do and returns False when there is nothing to do (no products yet…).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

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


@behaviour("accept a delivery", roles=("inspector",), weight=2, needs=("acceptance.record",))
def accept_delivery(phone: Phone) -> bool:
    """Count each line of a delivery in transit: mostly all there, sometimes short or damaged."""
    return _accept(phone, photo=False)


@behaviour(
    "accept a delivery, photo of the goods",
    roles=("inspector",),
    weight=2,
    needs=("acceptance.record", "media.attach"),
)
def accept_with_photo(phone: Phone) -> bool:
    """As above, with a photo of the goods named in the acceptance and attached once uploaded."""
    return _accept(phone, photo=True)


def _accept(phone: Phone, *, photo: bool) -> bool:
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
    acceptance_id = new_id()
    photos = [phone.take_photo("goods received")] if photo else []
    phone.queue(
        "acceptance.record",
        {
            "id": acceptance_id,
            "delivery_id": deliveries[0]["id"],
            "lines": counted,
            "photo_sha256s": photos,
            "accepted_at": utcnow().isoformat(),
        },
    )
    for sha256 in photos:  # the record names the photo at once; it is attached once uploaded
        _attach(phone, sha256, "acceptance", acceptance_id)
    return True


def _attach(phone: Phone, sha256: str, record_type: str, record_id: str) -> None:
    mutation_id = phone.queue(
        "media.attach",
        {"sha256": sha256, "record_type": record_type, "record_id": record_id, "kind": "photo"},
        after_upload=sha256,
    )
    phone.attachments[mutation_id] = sha256


def _answer(phone: Phone, question: dict[str, Any]) -> tuple[Any, list[str]]:
    """A plausible answer to ``question`` and the photos taken for it."""
    kind, rng = question["kind"], phone.rng
    if kind == "yes_no":
        return rng.random() < 0.8, []
    if kind == "number":
        low = math.ceil(question.get("min", 0))
        return rng.randint(low, max(low, math.floor(question.get("max", low + 50)))), []
    if kind == "single_choice":
        return rng.choice(question["options"]), []
    if kind == "multi_choice":
        options = question["options"]
        return rng.sample(options, rng.randint(1, len(options))), []
    if kind == "text":
        return f"seen by {phone.spec.username}"[: question.get("max_length", 2000)], []
    if kind == "photo":
        shots = [phone.take_photo(question["id"]) for _ in range(max(1, question.get("min_count", 1)))]
        return shots, shots
    raise ValueError(f"unknown question kind {kind!r}")


@behaviour(
    "inspect a shop, with photos",
    roles=("field_staff", "inspector"),
    weight=2,
    needs=("inspection.start", "inspection.answer", "inspection.submit", "media.attach"),
)
def inspect_shop(phone: Phone) -> bool:
    """Visit a terminal of the route with a current template: answer every question (photo
    questions with photos), attach each photo once uploaded, and submit after the last one."""
    route = _route(phone)
    current = "AND json_extract(data, '$.is_current') = 1"
    templates = phone.entities("inspection_template", limit=1, where=current)
    if not route or not templates:
        return False
    template = templates[0]
    inspection_id = new_id()
    phone.queue(
        "inspection.start",
        {"id": inspection_id, "terminal_id": phone.rng.choice(route), "template_id": template["id"]},
    )
    photos: list[str] = []
    for question in template["questions"]:
        if not question.get("required", True) and phone.rng.random() < 0.5:
            continue
        value, shots = _answer(phone, question)
        phone.queue(
            "inspection.answer",
            {
                "inspection_id": inspection_id,
                "question_id": question["id"],
                "value": value,
                "hlc": phone.hlc(),
            },
        )
        photos += shots
    for sha256 in photos:
        _attach(phone, sha256, "inspection", inspection_id)
    last_photo = photos[-1] if photos else None
    phone.queue("inspection.submit", {"inspection_id": inspection_id}, after_upload=last_photo)
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

    def __init__(self, available: set[str], weights: dict[str, int] | None = None) -> None:
        """``weights`` overrides the weight of behaviours by name (a demo or a test's emphasis)."""
        self.available = available
        self.by_role: dict[str, list[Behaviour]] = {}
        weights = weights or {}
        for b in BEHAVIOURS:
            if b.name in weights:
                b = replace(b, weight=weights[b.name])
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
