"""Test kit for orders and acceptance: actors of every role, orders brought to any state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.acceptance import service as acceptance
from backend.catalog import RegionalQuota
from backend.db import new_id
from backend.identity import Actor, Organisation
from backend.orders import Order
from backend.orders import service as orders
from backend.territory.service import assign_terminal
from tests.factories import Network

ROLE_NAMES = (
    "dist_staff",
    "field",
    "inspector",
    "supplier",
    "other_supplier",
    "other_dist",
    "support",
    "admin",
)


@dataclass
class Cast:
    """Actors around one distributor (dist-00) and one supplier (sup-a), plus outsiders."""

    net: Network
    actors: dict[str, Actor] = field(default_factory=dict)
    codes: tuple[str, str, str] = ("dist-00", "sup-a", "shop-001")

    def __getitem__(self, name: str) -> Actor:
        return self.actors[name]

    @property
    def distributor(self) -> Organisation:
        return self.net.org(self.codes[0])

    @property
    def supplier(self) -> Organisation:
        return self.net.org(self.codes[1])

    @property
    def terminal(self) -> Organisation:
        return self.net.org(self.codes[2])

    def product(self, category: str, supplier: str | None = None, n: int = 0) -> str:
        """The n-th SKU of ``supplier`` (the cast's own by default) in ``category``.

        dist-00 and dist-20 sell beverages, snacks and dairy of both suppliers in their province.
        """
        supplier = supplier or self.codes[1][-1].upper()
        cats = ["beverages", "snacks", "dairy", "household", "personal-care"]
        k = cats.index(category) + 5 * n
        return self.net.products[f"{supplier}-{k + 1:05d}"].id


def actor(org: Organisation, role: str, user_id: str | None = None) -> Actor:
    return Actor(user_id=user_id or new_id(), org_id=org.id, org_kind=org.kind, role=role)


def cast_of(net: Network) -> Cast:
    cast = Cast(net)
    d, s = net.org("dist-00"), net.org("sup-a")
    cast.actors = {
        "dist_staff": actor(d, "distributor_staff", net.user("dist-north").id),
        "field": actor(d, "field_staff", net.user("field-north").id),
        "inspector": actor(d, "inspector", net.user("inspector-north").id),
        "supplier": actor(s, "supplier_staff", net.user("supplier-a").id),
        "other_supplier": actor(net.org("sup-b"), "supplier_staff", net.user("supplier-b").id),
        "other_dist": actor(net.org("dist-20"), "distributor_staff", net.user("dist-south").id),
        "support": actor(net.org("platform"), "support_agent", net.user("support").id),
        "admin": actor(net.org("platform"), "admin", net.user("admin").id),
    }
    return cast


def mirror_cast_of(net: Network) -> Cast:
    """The same cast around dist-20, sup-b and shop-005; its outsiders are dist-00 and sup-a."""
    cast = Cast(net, codes=("dist-20", "sup-b", "shop-005"))
    d, s, platform = net.org("dist-20"), net.org("sup-b"), net.org("platform")
    cast.actors = {
        "dist_staff": actor(d, "distributor_staff", net.user("dist-south").id),
        "field": actor(d, "field_staff"),
        "inspector": actor(d, "inspector"),
        "supplier": actor(s, "supplier_staff", net.user("supplier-b").id),
        "other_supplier": actor(net.org("sup-a"), "supplier_staff", net.user("supplier-a").id),
        "other_dist": actor(net.org("dist-00"), "distributor_staff", net.user("dist-north").id),
        "support": actor(platform, "support_agent", net.user("support").id),
        "admin": actor(platform, "admin", net.user("admin").id),
    }
    return cast


async def set_category_quota(
    session: AsyncSession, cast: Cast, category: str, limit: int, *, used: int = 0
) -> RegionalQuota:
    """Pin dist-00's quota for one of sup-a's categories to ``limit``; other quotas stay generous."""
    cat = cast.net.categories[(cast.supplier.code, category)]
    await session.execute(
        update(RegionalQuota)
        .where(RegionalQuota.distributor_id == cast.distributor.id, RegionalQuota.category_id == cat.id)
        .values(limit_qty=limit, used_qty=used)
    )
    quota = (
        await session.execute(
            select(RegionalQuota).where(
                RegionalQuota.distributor_id == cast.distributor.id, RegionalQuota.category_id == cat.id
            )
        )
    ).scalar_one()
    await session.refresh(quota)
    return quota


def this_month() -> tuple[date, date]:
    start = date.today().replace(day=1)
    return start, (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)


async def purchase(session: AsyncSession, cast: Cast, *lines: tuple[str, int]) -> Order:
    lines = lines or ((cast.product("beverages"), 5), (cast.product("snacks"), 3))
    return await orders.create_order(
        session,
        cast["dist_staff"],
        order_id=None,
        kind="purchase",
        supplier_id=cast.supplier.id,
        lines=list(lines),
    )


async def sale(session: AsyncSession, cast: Cast, *lines: tuple[str, int]) -> Order:
    """A sales order at the cast's terminal, taken by its field user (on whose route it is put)."""
    lines = lines or ((cast.product("beverages", "A"), 4), (cast.product("dairy", "B"), 2))
    taker = cast["field"]
    if cast.codes[0] == "dist-00":
        await assign_terminal(session, cast["admin"], user_id=taker.user_id, terminal_id=cast.terminal.id)
    else:  # the mirror distributor has no demo field user
        taker = cast["dist_staff"]
    return await orders.create_order(
        session, taker, order_id=None, kind="sales", terminal_id=cast.terminal.id, lines=list(lines)
    )


def full_lines(lines: list[Any]) -> list[dict[str, Any]]:
    return [{"delivery_line_id": x.id, "accepted": x.qty} for x in lines]


async def bring_to(session: AsyncSession, cast: Cast, order: Order, state: str) -> Order:
    """Walk ``order`` (a draft) to ``state`` along the legal path."""
    seller = cast["supplier"] if order.kind == "purchase" else cast["dist_staff"]
    buyer = cast["dist_staff"]
    if state == "draft":
        return order
    if state == "cancelled":
        return await orders.cancel_order(session, buyer, order_id=order.id)
    order = await orders.submit_order(session, buyer, order_id=order.id)
    if state == "submitted":
        return order
    if state == "rejected":
        return await orders.reject_order(session, seller, order_id=order.id, reason="out of stock")
    order = await orders.confirm_order(session, seller, order_id=order.id)
    if state == "confirmed":
        return order
    delivery = await orders.ship_order(session, seller, order_id=order.id, delivery_note="DN-1")
    if state == "shipped":
        return await orders.get_order(session, buyer, order_id=order.id)
    lines = await orders.delivery_lines(session, delivery.id)
    await acceptance.record_acceptance(
        session, cast["inspector"], acceptance_id=None, delivery_id=delivery.id, lines=full_lines(lines)
    )
    return await orders.get_order(session, buyer, order_id=order.id)
