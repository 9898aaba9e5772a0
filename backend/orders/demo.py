"""Demo orders: purchase and sales orders in every state, deliveries, acceptances and claims.

Everything goes through the services (so quotas, prices, stock movements, the change feed and
the evidence log are all real); each order's steps are then dated over the past three weeks.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.acceptance import service as acceptance
from backend.catalog import ChannelAuthorisation, Product
from backend.db import utcnow
from backend.demo_network import DemoNetwork
from backend.identity import Actor, Organisation, User
from backend.orders import service as orders
from backend.orders.models import Delivery, Order
from backend.territory.service import assign_terminal

# The life each demo order gets, in order; the mix covers every state.
PURCHASE_PLAN = [
    "draft",
    "submitted",
    "confirmed",
    "shipped",
    "delivered",
    "delivered*",
    "rejected",
    "cancelled",
]
SALES_PLAN = ["draft", "submitted", "confirmed", "shipped", "delivered", "delivered*", "cancelled"]
REJECT_REASONS = ["out of stock until next month", "price list under review", "duplicate of an earlier order"]
NOTES = [
    "pallet wrap torn",
    "two cases crushed at the corner",
    "labels do not match the order",
    "short on the last pallet",
]


def _actor(user: User | None, org: Organisation, role: str, fallback: User) -> Actor:
    """The demo user of that role at ``org`` if there is one, else the administrator."""
    if user is not None and user.org_id == org.id:
        return Actor(user_id=user.id, org_id=org.id, org_kind=org.kind, role=role)
    return Actor(user_id=fallback.id, org_id=fallback.org_id, org_kind="service_provider", role="admin")


class _Seeder:
    def __init__(self, session: AsyncSession, net: DemoNetwork) -> None:
        self.session = session
        self.net = net
        self.rng = net.rng
        self.admin = net.users["admin"]
        self.now = utcnow()
        self.staff = {u.org_id: u for u in net.users.values() if u.role == "distributor_staff"}
        self.field = {u.org_id: u for u in net.users.values() if u.role == "field_staff"}
        self.inspectors = {u.org_id: u for u in net.users.values() if u.role == "inspector"}
        self.supplier_staff = {u.org_id: u for u in net.users.values() if u.role == "supplier_staff"}

    def buyer(self, distributor: Organisation) -> Actor:
        return _actor(self.staff.get(distributor.id), distributor, "distributor_staff", self.admin)

    def seller(self, order: Order, org: Organisation) -> Actor:
        if order.kind == "purchase":
            return _actor(self.supplier_staff.get(org.id), org, "supplier_staff", self.admin)
        return self.buyer(org)

    def receiver(self, distributor: Organisation, kind: str) -> Actor:
        users = self.inspectors if kind == "purchase" else self.field
        role = "inspector" if kind == "purchase" else "field_staff"
        user = users.get(distributor.id)
        return _actor(user, distributor, role, self.admin) if user else self.buyer(distributor)

    async def sellable(self) -> dict[tuple[str, str], list[Product]]:
        """(distributor, supplier) → the products it is authorised to sell in its own province."""
        authorised = defaultdict(set)
        for a in (await self.session.execute(select(ChannelAuthorisation))).scalars():
            authorised[a.distributor_id].add((a.supplier_id, a.category_id))
        out: dict[tuple[str, str], list[Product]] = defaultdict(list)
        for d in self.net.distributors:
            for p in self.net.products:
                if (p.supplier_id, p.category_id) in authorised[d.id]:
                    out[(d.id, p.supplier_id)].append(p)
        return out

    def lines(self, products: list[Product]) -> list[tuple[str, int]]:
        picked = self.rng.sample(products, k=min(len(products), self.rng.randint(2, 5)))
        return [(p.id, self.rng.randint(2, 20)) for p in picked]

    def timeline(self) -> dict[str, datetime]:
        """When each step of a demo order happened: within the past three weeks, in order."""
        at = self.now - timedelta(days=self.rng.randint(2, 21), hours=self.rng.randint(0, 23))
        times = {}
        for step in ("created_at", "submitted_at", "confirmed_at", "shipped_at", "delivered_at"):
            times[step] = at
            at += timedelta(hours=self.rng.randint(2, 9), minutes=self.rng.randint(0, 59))
        return times

    async def live(self, order: Order, plan: str, buyer: Actor, seller: Actor, receiver: Actor) -> None:
        """Walk ``order`` to the planned state; ``delivered*`` means accepted with discrepancies."""
        times = self.timeline()
        await self._walk(order, plan, buyer, seller, receiver, times["delivered_at"])
        await self.session.refresh(order)
        for attr, at in times.items():
            if attr == "created_at" or getattr(order, attr) is not None:
                setattr(order, attr, at)
        if order.closed_at is not None:
            order.closed_at = times["submitted_at" if order.submitted_at else "created_at"] + timedelta(
                hours=3
            )
        delivery = (
            await self.session.execute(select(Delivery).where(Delivery.order_id == order.id))
        ).scalar_one_or_none()
        if delivery is not None:
            delivery.shipped_at = times["shipped_at"]

    async def _walk(
        self, order: Order, plan: str, buyer: Actor, seller: Actor, receiver: Actor, accepted_at: datetime
    ) -> None:
        if plan == "draft":
            return
        if plan == "cancelled" and self.rng.random() < 0.5:
            await orders.cancel_order(self.session, buyer, order_id=order.id)
            return
        await orders.submit_order(self.session, buyer, order_id=order.id)
        if plan in ("submitted",):
            return
        if plan == "cancelled":
            await orders.cancel_order(self.session, buyer, order_id=order.id)
            return
        if plan == "rejected":
            reason = self.rng.choice(REJECT_REASONS)
            await orders.reject_order(self.session, seller, order_id=order.id, reason=reason)
            return
        await orders.confirm_order(self.session, seller, order_id=order.id)
        if plan == "confirmed":
            return
        note = f"DN-{self.rng.randrange(10_000, 99_999)}"
        delivery = await orders.ship_order(self.session, seller, order_id=order.id, delivery_note=note)
        if plan == "shipped":
            return
        items: list[dict[str, Any]] = []
        for line in await orders.delivery_lines(self.session, delivery.id):
            counts = {"short": 0, "damaged": 0, "wrong": 0}
            if plan == "delivered*" and (not items or self.rng.random() < 0.4):
                counts[self.rng.choice(list(counts))] = self.rng.randint(1, max(1, line.qty // 4))
            items.append({"delivery_line_id": line.id, "accepted": line.qty - sum(counts.values()), **counts})
        record = await acceptance.record_acceptance(
            self.session,
            receiver,
            delivery_id=delivery.id,
            lines=items,
            notes=self.rng.choice(NOTES) if plan == "delivered*" else "",
            gps=(round(self.rng.uniform(50.0, 53.0), 5), round(self.rng.uniform(4.0, 7.0), 5)),
            accepted_at=accepted_at,
        )
        if plan == "delivered*" and self.rng.random() < 0.3:
            claim = (await acceptance.list_claims(self.session, seller, limit=500)).items
            mine = next((c for c in claim if c.acceptance_id == record.id), None)
            if mine is not None:
                await acceptance.resolve_claim(
                    self.session, seller, claim_id=mine.id, resolution="credit note issued"
                )


async def seed(session: AsyncSession, net: DemoNetwork) -> None:
    """Add demo orders, deliveries, acceptances and claims to ``session`` (the caller commits)."""
    seeder = _Seeder(session, net)
    sellable = await seeder.sellable()
    net.progress("purchase orders")
    for distributor in net.distributors:
        # Each distributor has an order in every state, alternating between the suppliers.
        for k, plan in enumerate(PURCHASE_PLAN):
            supplier = net.suppliers[k % len(net.suppliers)]
            products = sellable.get((distributor.id, supplier.id))
            if not products:
                continue
            buyer = seeder.buyer(distributor)
            order = await orders.create_order(
                session,
                buyer,
                kind="purchase",
                supplier_id=supplier.id,
                distributor_id=distributor.id,
                lines=seeder.lines(products),
            )
            await seeder.live(
                order, plan, buyer, seeder.seller(order, supplier), seeder.receiver(distributor, "purchase")
            )
    net.progress("sales orders")
    for distributor in net.distributors:
        terminals = [t for t in net.terminals if t.parent_id == distributor.id]
        products = [p for s in net.suppliers for p in sellable.get((distributor.id, s.id), [])]
        if not terminals or not products:
            continue
        taker = seeder.receiver(distributor, "sales")
        # Every state at least once; busier networks get more orders, mostly delivered.
        count = max(len(SALES_PLAN), len(terminals) // 5)
        for k in range(count):
            plan = SALES_PLAN[k] if k < len(SALES_PLAN) else seeder.rng.choice(SALES_PLAN[3:])
            terminal = terminals[k % len(terminals)]
            if taker.role == "field_staff":
                # A field user takes orders on their route (idempotent if routes are seeded too).
                await assign_terminal(
                    session, seeder.buyer(distributor), user_id=taker.user_id, terminal_id=terminal.id
                )
            order = await orders.create_order(
                session,
                taker,
                kind="sales",
                terminal_id=terminal.id,
                lines=seeder.lines(products),
            )
            await seeder.live(order, plan, taker, seeder.buyer(distributor), taker)
    await session.flush()
