"""Tables of territory: the terminals on each field user's route."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.changefeed import Syncable
from backend.db import Base, IdStr, new_id, utcnow


class RouteAssignment(Syncable, Base):
    """A field user visits a terminal. Unassigning deletes the row (phones get a tombstone)."""

    __tablename__ = "route_assignments"
    __sync_entity__ = "route_assignment"
    __table_args__ = (UniqueConstraint("user_id", "terminal_id"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    terminal_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    assigned_by: Mapped[str | None] = mapped_column(IdStr, default=None)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return {f"user:{get('user_id')}", f"org:{get('distributor_id')}"}
