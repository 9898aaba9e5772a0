"""Tables of push notifications: the outbox and per-user preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, IdStr, JsonDoc, utcnow

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
DROPPED = "dropped"


class PushOutbox(Base):
    """A push owed to a user, written in the same transaction as its cause.

    Workers claim ``pending`` rows whose ``available_at`` has come (``FOR UPDATE SKIP LOCKED``
    on PostgreSQL), mark them ``sending`` with a lease, send to the user's active devices and
    settle them. ``tokens`` narrows a retry to the devices whose send failed transiently.
    A pending row with the same ``(user_id, collapse_key)`` absorbs a new one.
    """

    __tablename__ = "push_outbox"
    __table_args__ = (
        Index("ix_push_outbox_status_available", "status", "available_at"),
        Index("ix_push_outbox_user_collapse", "user_id", "collapse_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(200), default=None)
    body: Mapped[str | None] = mapped_column(Text, default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    collapse_key: Mapped[str | None] = mapped_column(String(64), default=None)
    tokens: Mapped[list[str] | None] = mapped_column(JsonDoc, default=None)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)


class PushPreference(Base):
    """A user's push preferences: quiet hours (local time) delay chat pushes until they end."""

    __tablename__ = "push_preferences"

    user_id: Mapped[str] = mapped_column(IdStr, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    chat_enabled: Mapped[bool] = mapped_column(default=True)
    quiet_start_min: Mapped[int | None] = mapped_column(Integer, default=None)
    quiet_end_min: Mapped[int | None] = mapped_column(Integer, default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
