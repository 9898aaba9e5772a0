"""Tables of orders: purchase orders to suppliers, sales orders at terminals, and deliveries.

Lines, deliveries and delivery lines carry the order's parties (distributor, supplier,
terminal) so each row can say which sync scopes it belongs to from its own columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.changefeed import Syncable
from backend.db import Base, IdStr, new_id, utcnow

KINDS = ("purchase", "sales")
STATES = ("draft", "submitted", "confirmed", "shipped", "delivered", "rejected", "cancelled")


def party_scopes(get: Any) -> set[str]:
    """Purchase rows are seen by both companies; sales rows by the distributor and the terminal."""
    scopes = {f"org:{get('distributor_id')}"}
    if get("kind") == "purchase":
        scopes.add(f"org:{get('supplier_id')}")
    else:
        scopes.add(f"terminal:{get('terminal_id')}")
    return scopes


class PartyColumns:
    """The order's kind and parties, repeated on each of its rows for scoping and filtering."""

    __sync_types__: ClassVar[dict[str, Any]] = {"kind": Literal[KINDS]}

    kind: Mapped[str] = mapped_column(String(10))
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    supplier_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True, default=None)
    terminal_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True, default=None)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return party_scopes(get)


class Order(PartyColumns, Syncable, Base):
    __tablename__ = "orders"
    __sync_entity__ = "order"
    __sync_types__: ClassVar[dict[str, Any]] = {**PartyColumns.__sync_types__, "state": Literal[STATES]}
    __table_args__ = (Index("ix_orders_state", "state"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    state: Mapped[str] = mapped_column(String(12), default="draft")
    # a number people read aloud (PO-2026-000123), given at creation (backend/orders/numbers.py)
    number: Mapped[str | None] = mapped_column(String(20), unique=True, index=True, default=None)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The region whose channel rules applied at submission (the terminal's or the distributor's).
    region_id: Mapped[str | None] = mapped_column(ForeignKey("regions.id"), default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    total_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    submitted_by: Mapped[str | None] = mapped_column(String(32), default=None)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    shipped_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[str | None] = mapped_column(String(32), default=None)
    reject_reason: Mapped[str | None] = mapped_column(Text, default=None)


class OrderLine(PartyColumns, Syncable, Base):
    __tablename__ = "order_lines"
    __sync_entity__ = "order_line"
    __table_args__ = (UniqueConstraint("order_id", "product_id"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    qty: Mapped[int] = mapped_column(Integer)
    # Taken from the distributor's price list when the order is submitted.
    unit_price_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    line_total_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)  # price × qty
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class QuotaUse(Base):
    """How much of which quota an order consumed at submission; released on reject/cancel."""

    __tablename__ = "quota_uses"
    __table_args__ = (UniqueConstraint("order_id", "quota_id"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    quota_id: Mapped[str] = mapped_column(ForeignKey("regional_quotas.id"), index=True)
    qty: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(PartyColumns, Syncable, Base):
    """What the seller shipped for an order; accepted once (``backend.acceptance``)."""

    __tablename__ = "deliveries"
    __sync_entity__ = "delivery"
    __sync_types__: ClassVar[dict[str, Any]] = {
        **PartyColumns.__sync_types__,
        "state": Literal["in_transit", "accepted"],
    }

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), unique=True)
    state: Mapped[str] = mapped_column(String(12), default="in_transit")  # in_transit | accepted
    # DN-2026-000123
    number: Mapped[str | None] = mapped_column(String(20), unique=True, index=True, default=None)
    delivery_note: Mapped[str] = mapped_column(Text, default="")
    shipped_at: Mapped[datetime] = mapped_column(default=utcnow)
    shipped_by: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)


class DeliveryLine(PartyColumns, Syncable, Base):
    __tablename__ = "delivery_lines"
    __sync_entity__ = "delivery_line"
    __table_args__ = (UniqueConstraint("delivery_id", "product_id"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[str] = mapped_column(ForeignKey("order_lines.id"))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    qty: Mapped[int] = mapped_column(Integer)
