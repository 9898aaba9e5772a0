"""Replenishment suggestions: one row per distributor warehouse × SKU and terminal shelf × SKU."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.changefeed import Syncable
from backend.db import Base, IdStr, new_id, utcnow

STATUSES = ("open", "ordered")


class Suggestion(Syncable, Base):
    """What to order now for a SKU at a place, and why (``reason`` is for people).

    ``kind`` is ``purchase`` (a warehouse, ordering from the supplier) or ``sales`` (a shelf,
    ordering from the distributor). ``bound`` says what cut the quantity: ``quota``,
    ``not_authorised`` or empty. ``order_id`` is the draft order it went into.
    """

    __tablename__ = "replenishment_suggestions"
    __sync_entity__ = "replenishment_suggestion"
    __table_args__ = (UniqueConstraint("location_id", "product_id"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(10))
    location_id: Mapped[str] = mapped_column(ForeignKey("stock_locations.id"))
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    terminal_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True, default=None)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    history_days: Mapped[int] = mapped_column(Integer)
    sold_28d: Mapped[int] = mapped_column(Integer)
    forecast_daily: Mapped[float] = mapped_column(Float)
    on_hand: Mapped[int] = mapped_column(Integer)
    on_order: Mapped[int] = mapped_column(Integer)
    lead_time_days: Mapped[float] = mapped_column(Float)
    safety_stock: Mapped[float] = mapped_column(Float)
    pack_size: Mapped[int] = mapped_column(Integer)
    suggested_qty: Mapped[int] = mapped_column(Integer)
    bound: Mapped[str] = mapped_column(String(16), default="")
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), default=None)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        scopes = {f"org:{get('distributor_id')}"}
        if get("terminal_id"):
            scopes.add(f"terminal:{get('terminal_id')}")
        return scopes
