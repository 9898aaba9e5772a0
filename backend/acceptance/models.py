"""Tables of acceptance: one proof of delivery per delivery, its lines, and claims."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.changefeed import Syncable
from backend.db import Base, IdStr, JsonDoc, new_id, utcnow
from backend.orders.models import PartyColumns


class Acceptance(PartyColumns, Syncable, Base):
    """Who accepted which delivery, when and where, with the evidence's references."""

    __tablename__ = "acceptances"
    __sync_entity__ = "acceptance"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), unique=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    recorded_by: Mapped[str] = mapped_column(String(32))
    device_id: Mapped[str | None] = mapped_column(String(32), default=None)
    accepted_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    notes: Mapped[str] = mapped_column(Text, default="")
    gps_lat: Mapped[float | None] = mapped_column(Float, default=None)
    gps_lon: Mapped[float | None] = mapped_column(Float, default=None)
    signature_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    photo_sha256s: Mapped[list[Any]] = mapped_column(JsonDoc, default=list)
    has_discrepancy: Mapped[bool] = mapped_column(Boolean, default=False)


class AcceptanceLine(PartyColumns, Syncable, Base):
    __tablename__ = "acceptance_lines"
    __sync_entity__ = "acceptance_line"
    __table_args__ = (UniqueConstraint("acceptance_id", "delivery_line_id"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    acceptance_id: Mapped[str] = mapped_column(ForeignKey("acceptances.id", ondelete="CASCADE"), index=True)
    delivery_line_id: Mapped[str] = mapped_column(ForeignKey("delivery_lines.id"))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    shipped: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    short: Mapped[int] = mapped_column(Integer, default=0)
    damaged: Mapped[int] = mapped_column(Integer, default=0)
    wrong: Mapped[int] = mapped_column(Integer, default=0)


class Claim(PartyColumns, Syncable, Base):
    """Opened by an acceptance with discrepancies; the supplier (or distributor) resolves it."""

    __tablename__ = "claims"
    __sync_entity__ = "claim"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    acceptance_id: Mapped[str] = mapped_column(ForeignKey("acceptances.id"), unique=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), index=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open | resolved
    short_qty: Mapped[int] = mapped_column(Integer, default=0)
    damaged_qty: Mapped[int] = mapped_column(Integer, default=0)
    wrong_qty: Mapped[int] = mapped_column(Integer, default=0)
    # [{product_id, delivery_line_id, short, damaged, wrong}] for each line with a discrepancy.
    items: Mapped[list[Any]] = mapped_column(JsonDoc, default=list)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(32), default=None)
    resolution: Mapped[str | None] = mapped_column(Text, default=None)
