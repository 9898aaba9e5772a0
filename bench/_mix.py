"""The mutations a benchmark phone pushes: a field rep's day, 100 at a time.

A *mix* is a list of ``(weight, builder)``; a builder takes the phone's world (its user,
distributor, route terminals, products, an inspection template, a conversation) and returns a
few ``(name, args)`` mutations that belong together (an order with its lines, an inspection's
start and answers). Builders whose mutation the server does not publish are left out, so the
benchmark runs against whatever the sync engine supports and says which ones it used.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from backend.db import new_id

Mutation = tuple[str, dict[str, Any]]


@dataclass
class World:
    """What one phone knows about: ids from the seeded network."""

    user_id: str
    distributor_id: str
    terminals: list[str]
    products: list[str]
    suppliers: list[str] = field(default_factory=list)
    template_id: str | None = None
    questions: list[str] = field(default_factory=list)
    conversation_id: str | None = None


Builder = Callable[[World, random.Random], list[Mutation]]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def stock_check(world: World, rng: random.Random) -> list[Mutation]:
    return [
        (
            "stock_check.record",
            {
                "id": new_id(),
                "org_id": rng.choice(world.terminals or [world.distributor_id]),
                "product_id": rng.choice(world.products),
                "counted_qty": rng.randrange(0, 200),
                "observed_at": _now(),
            },
        )
    ]


def sales_order(world: World, rng: random.Random) -> list[Mutation]:
    """A sales order at a terminal on the route: create with three lines, change one, submit."""
    order_id = new_id()
    products = rng.sample(world.products, 3)
    return [
        (
            "order.create",
            {
                "id": order_id,
                "kind": "sales",
                "terminal_id": rng.choice(world.terminals),
                "lines": [{"product_id": p, "qty": rng.randrange(1, 20)} for p in products],
            },
        ),
        ("order.update_line", {"order_id": order_id, "product_id": products[0], "qty": rng.randrange(1, 20)}),
        ("order.submit", {"order_id": order_id}),
    ]


VISIT_QUESTIONS = [
    {"id": "clean", "kind": "yes_no", "text": "Is the shelf clean?", "weight": 1},
    {"id": "facings", "kind": "number", "text": "Facings of the hero SKU", "min": 0, "max": 100, "weight": 2},
]


def inspection_visit(world: World, rng: random.Random) -> list[Mutation]:
    """Start a visit at a route terminal and answer its checklist (answers stamped with an HLC)."""
    if world.template_id is None or not world.terminals:
        return []
    inspection_id = new_id()
    wall_ms = int(datetime.now(UTC).timestamp() * 1000)
    node = world.user_id[:8]
    return [
        (
            "inspection.start",
            {
                "id": inspection_id,
                "terminal_id": rng.choice(world.terminals),
                "template_id": world.template_id,
            },
        ),
        (
            "inspection.answer",
            {
                "inspection_id": inspection_id,
                "question_id": "clean",
                "value": rng.random() < 0.8,
                "hlc": f"{wall_ms}:0:{node}",
            },
        ),
        (
            "inspection.answer",
            {
                "inspection_id": inspection_id,
                "question_id": "facings",
                "value": rng.randrange(0, 30),
                "hlc": f"{wall_ms}:1:{node}",
            },
        ),
    ]


def chat_message(world: World, rng: random.Random) -> list[Mutation]:
    if world.conversation_id is None:
        return []
    body = f"Shelf at stop {rng.randrange(1, 9)} done, {rng.randrange(1, 40)} facings"
    args = {"conversation_id": world.conversation_id, "client_message_id": new_id(), "body": body}
    return [("message.send", args)]


def profile_update(world: World, rng: random.Random) -> list[Mutation]:
    return [("profile.update", {"display_name": f"Rep {rng.randrange(10_000)}"})]


@dataclass(frozen=True)
class Kind:
    name: str
    needs: tuple[str, ...]
    weight: int
    build: Builder


MIXED: list[Kind] = [
    Kind("stock check", ("stock_check.record",), 4, stock_check),
    Kind("sales order with lines", ("order.create", "order.update_line", "order.submit"), 2, sales_order),
    Kind("inspection with answers", ("inspection.start", "inspection.answer"), 1, inspection_visit),
    Kind("message", ("message.send",), 1, chat_message),
    Kind("profile", ("profile.update",), 1, profile_update),
]
STOCK_ONLY: list[Kind] = [Kind("stock check", ("stock_check.record",), 1, stock_check)]


def only(kinds: list[Kind], wanted: str) -> list[Kind]:
    """The kinds whose name starts with one of the comma-separated words of ``wanted`` (all when empty)."""
    words = tuple(w.strip() for w in wanted.split(",") if w.strip())
    if not words:
        return kinds
    chosen = [k for k in kinds if k.name.startswith(words)]
    if not chosen:
        raise SystemExit(
            f"--mix {wanted!r} names no kind of work; choose from: {', '.join(k.name for k in kinds)}"
        )
    return chosen


def usable(kinds: list[Kind], available: set[str]) -> list[Kind]:
    return [k for k in kinds if set(k.needs) <= available]


def batch(kinds: list[Kind], world: World, rng: random.Random, size: int = 100) -> list[Mutation]:
    """``size`` mutations drawn from ``kinds`` by weight (groups are kept whole, then trimmed). A
    kind this phone cannot do (a message for a rep with nobody to write to) is left out."""
    out: list[Mutation] = []
    kinds = list(kinds)
    while len(out) < size:
        if not kinds:
            raise SystemExit(
                "this phone can do none of the kinds of work asked for (--mix); add another kind"
            )
        kind = rng.choices(kinds, weights=[k.weight for k in kinds])[0]
        built = kind.build(world, rng)
        if not built:
            kinds.remove(kind)
        out.extend(built)
    return out[:size]
