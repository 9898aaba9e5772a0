"""Requests from distributors to suppliers (custom packaging, a new SKU, a complaint with photos)
and each step on them, visible to both companies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.changefeed import Syncable
from backend.db import Base, IdStr, JsonDoc, new_id, utcnow

KINDS = ("custom_packaging", "new_sku", "complaint", "feedback")
STATUSES = ("open", "answered", "accepted", "declined", "delivered")
OPEN_STATUSES = ("open", "answered", "accepted")
MET_STATUSES = ("accepted", "delivered")


def _both_sides(get: Any) -> set[str]:
    return {f"org:{get('distributor_id')}", f"org:{get('supplier_id')}"}


class SupplierRequest(Syncable, Base):
    __tablename__ = "supplier_requests"
    __sync_entity__ = "supplier_request"
    __table_args__ = (Index("ix_supplier_requests_supplier_status", "supplier_id", "status"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"), default=None)
    photo_sha256s: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_answered_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return _both_sides(get)


class RequestEvent(Syncable, Base):
    """One step: ``filed``, ``answer``, ``accept``, ``decline``, ``deliver`` or ``comment``."""

    __tablename__ = "supplier_request_events"
    __sync_entity__ = "supplier_request_event"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(
        ForeignKey("supplier_requests.id", ondelete="CASCADE"), index=True
    )
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    supplier_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    action: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12))  # the request's status after the step
    note: Mapped[str] = mapped_column(Text, default="")
    by_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    by_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return _both_sides(get)
