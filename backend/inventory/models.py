"""Tables of inventory: stock locations, immutable stock checks, movements and current levels.

A stock check is an observation that never changes. The current count of a SKU at a location
is the latest check by observed time; :class:`StockLevel` keeps it (and the expected quantity:
that count plus the movements since) so phones replicate one row per SKU and location, and the
workbench aggregates without scanning history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.changefeed import Syncable
from backend.db import Base, IdStr, new_id, utcnow

LOCATION_KINDS = ("warehouse", "shelf")
MOVEMENT_REASONS = ("delivery", "sale", "adjustment")


def location_scopes(distributor_id: str, terminal_id: str | None) -> set[str]:
    """A warehouse is its distributor's; a shelf is also its terminal's (field routes)."""
    scopes = {f"org:{distributor_id}"}
    if terminal_id:
        scopes.add(f"terminal:{terminal_id}")
    return scopes


class StockLocation(Syncable, Base):
    """A distributor's warehouse or a terminal's shelf: one per organisation."""

    __tablename__ = "stock_locations"
    __sync_entity__ = "stock_location"
    __sync_types__: ClassVar[dict[str, Any]] = {"kind": Literal[LOCATION_KINDS]}

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    terminal_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return location_scopes(get("distributor_id"), get("terminal_id"))


class StockCheck(Base):
    """One immutable count of a SKU at a location. History only: phones replicate the level.

    ``expected_qty`` is what the books said at ``observed_at`` (previous count plus movements
    in between), ``None`` for a location's first count of the SKU, which sets the baseline.
    """

    __tablename__ = "stock_checks"
    __table_args__ = (
        Index("ix_stock_checks_location_product_observed", "location_id", "product_id", "observed_at"),
    )

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    location_id: Mapped[str] = mapped_column(ForeignKey("stock_locations.id"))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    counted_qty: Mapped[int] = mapped_column(Integer)
    expected_qty: Mapped[int | None] = mapped_column(Integer, default=None)
    discrepancy: Mapped[bool] = mapped_column(Boolean, default=False)
    observed_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[str | None] = mapped_column(String(64), default=None)


class StockMovement(Base):
    """Goods in (delivery, positive) or out (sale, negative) of a location, or an adjustment."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_location_product_occurred", "location_id", "product_id", "occurred_at"),
    )

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    location_id: Mapped[str] = mapped_column(ForeignKey("stock_locations.id"))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    qty_delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(16))
    ref_id: Mapped[str] = mapped_column(String(64), index=True)
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockLevel(Syncable, Base):
    """The current count of a SKU at a location and what is expected now.

    ``counted_qty``/``observed_at``/``last_check_id`` come from the latest check by observed
    time; ``expected_qty`` adds the movements after it; ``discrepancy`` is the latest check's flag.
    """

    __tablename__ = "stock_levels"
    __sync_entity__ = "stock_level"
    __table_args__ = (UniqueConstraint("location_id", "product_id"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    location_id: Mapped[str] = mapped_column(ForeignKey("stock_locations.id"))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    terminal_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True, default=None)
    counted_qty: Mapped[int | None] = mapped_column(Integer, default=None)
    observed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_check_id: Mapped[str | None] = mapped_column(IdStr, default=None)
    expected_qty: Mapped[int] = mapped_column(BigInteger, default=0)  # a count plus movements
    discrepancy: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return location_scopes(get("distributor_id"), get("terminal_id"))
