"""Tables of visits: where a terminal is, how often it is visited, and each visit.

``TerminalSite`` holds a terminal's coordinates, check-in radius and time zone. ``VisitRule`` says
how often a field user visits a terminal on their route and in which local hours. ``Visit`` is a
planned (generated from a rule), or unplanned, visit with its check-in and check-out facts and
the flags a supervisor looks at; ``VisitActivity`` ties the counts, orders and inspections done
during a visit to it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.changefeed import Syncable
from backend.db import Base, IdStr, JsonDoc, new_id, utcnow

DEFAULT_RADIUS_M = 150
VISIT_STATUSES = ("planned", "in_progress", "completed", "skipped")
ACTIVITY_KINDS = ("stock_check", "order", "inspection")


def _field_scopes(get: Any) -> set[str]:
    return {f"user:{get('user_id')}", f"org:{get('distributor_id')}"}


class TerminalSite(Syncable, Base):
    """Where a terminal is: coordinates, the check-in radius and its time zone."""

    __tablename__ = "terminal_sites"
    __sync_entity__ = "terminal_site"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    terminal_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), unique=True)
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[int] = mapped_column(Integer, default=DEFAULT_RADIUS_M)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return {f"org:{get('distributor_id')}", f"terminal:{get('terminal_id')}"}


class VisitRule(Syncable, Base):
    """How often ``user_id`` visits ``terminal_id`` (``backend.visits.rules``) and when (local minutes)."""

    __tablename__ = "visit_rules"
    __sync_entity__ = "visit_rule"
    __table_args__ = (UniqueConstraint("user_id", "terminal_id"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    terminal_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    freq: Mapped[str] = mapped_column(String(10))
    weekdays: Mapped[list[int]] = mapped_column(JsonDoc, default=list)
    interval_weeks: Mapped[int] = mapped_column(Integer, default=1)
    anchor_date: Mapped[date | None] = mapped_column(Date, default=None)
    month_day: Mapped[int | None] = mapped_column(Integer, default=None)
    window_start_min: Mapped[int] = mapped_column(Integer, default=9 * 60)
    window_end_min: Mapped[int] = mapped_column(Integer, default=17 * 60)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(IdStr, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return _field_scopes(get)


class Visit(Syncable, Base):
    """One visit of a field user to a terminal on a local date.

    ``flag_far``: checked in outside the radius with a reason; ``flag_travel``: the check-in cannot
    follow (or be followed by) the user's neighbouring check-in at any plausible speed.
    """

    __tablename__ = "visits"
    __sync_entity__ = "visit"
    __table_args__ = (
        UniqueConstraint("rule_id", "planned_date"),
        Index("ix_visits_user_date", "user_id", "planned_date"),
        Index("ix_visits_distributor_date", "distributor_id", "planned_date"),
    )

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    terminal_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    rule_id: Mapped[str | None] = mapped_column(
        ForeignKey("visit_rules.id", ondelete="SET NULL"), default=None
    )
    planned_date: Mapped[date] = mapped_column(Date)
    window_start: Mapped[datetime | None] = mapped_column(default=None)
    window_end: Mapped[datetime | None] = mapped_column(default=None)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    unplanned: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="planned")
    checkin_at: Mapped[datetime | None] = mapped_column(default=None)
    checkin_lat: Mapped[float | None] = mapped_column(Float, default=None)
    checkin_lon: Mapped[float | None] = mapped_column(Float, default=None)
    checkin_distance_m: Mapped[int | None] = mapped_column(Integer, default=None)
    checkin_reason: Mapped[str | None] = mapped_column(Text, default=None)
    checkout_at: Mapped[datetime | None] = mapped_column(default=None)
    checkout_lat: Mapped[float | None] = mapped_column(Float, default=None)
    checkout_lon: Mapped[float | None] = mapped_column(Float, default=None)
    on_time: Mapped[bool | None] = mapped_column(Boolean, default=None)
    flag_far: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_travel: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_note: Mapped[str | None] = mapped_column(Text, default=None)
    activities: Mapped[int] = mapped_column(Integer, default=0)
    skip_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return _field_scopes(get)


class VisitActivity(Syncable, Base):
    """A count, order or inspection done during a visit (each belongs to at most one visit)."""

    __tablename__ = "visit_activities"
    __sync_entity__ = "visit_activity"
    __table_args__ = (UniqueConstraint("kind", "ref_id"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(16))
    ref_id: Mapped[str] = mapped_column(IdStr)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return _field_scopes(get)
