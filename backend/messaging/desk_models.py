"""Tables of the support desk (issue 16): teams with their service-level policy and business
calendar, agents' presence and capacity, labels, macros, SLA breaches and satisfaction ratings.

None of these is replicated to phones: they are the agents' working state. The conversation
itself (``conversations``) carries the ticket's team, snooze and due times.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, IdStr, JsonDoc, new_id, utcnow

AGENT_STATUSES = ("online", "busy", "offline")
SLA_TARGETS = ("first_response", "next_response", "resolution")


class SupportTeam(Base):
    """A team of agents: its lead (who hears of breaches), its policy and business calendar.

    ``hours`` maps a weekday (``"0"`` Monday … ``"6"`` Sunday) to ``[[start_min, end_min], …]``
    in minutes after local midnight in ``timezone``; ``holidays`` are ISO dates off. An empty
    ``hours`` means around the clock.
    """

    __tablename__ = "support_teams"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    hours: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    holidays: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    first_response_s: Mapped[int] = mapped_column(Integer, default=3600)
    next_response_s: Mapped[int] = mapped_column(Integer, default=3600)
    resolution_s: Mapped[int] = mapped_column(Integer, default=8 * 3600)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SupportAgent(Base):
    """An agent's presence and routing state (no row: offline, default capacity)."""

    __tablename__ = "support_agents"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(8), default="offline")
    capacity: Mapped[int] = mapped_column(Integer, default=5)
    team_id: Mapped[str | None] = mapped_column(ForeignKey("support_teams.id"), default=None)
    last_assigned_at: Mapped[datetime | None] = mapped_column(default=None)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationLabel(Base):
    __tablename__ = "conversation_labels"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class SupportMacro(Base):
    """One click: reply from a template, add labels, assign, resolve (each optional)."""

    __tablename__ = "support_macros"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(120), unique=True)
    reply_body: Mapped[str] = mapped_column(Text, default="")
    add_labels: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    assign_to: Mapped[str | None] = mapped_column(String(32), default=None)  # a user id or "me"
    resolve: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlaBreach(Base):
    """A target missed: recorded once per (ticket, target, due time) by the escalation job."""

    __tablename__ = "support_sla_breaches"
    __table_args__ = (UniqueConstraint("conversation_id", "target", "due_at"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    breached_at: Mapped[datetime]
    team_id: Mapped[str | None] = mapped_column(ForeignKey("support_teams.id"), default=None)
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)


class CsatRating(Base):
    """The satisfaction question sent after a resolve, and the customer's 1–5 answer."""

    __tablename__ = "support_csat"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    team_id: Mapped[str | None] = mapped_column(ForeignKey("support_teams.id"), default=None)
    request_message_id: Mapped[str | None] = mapped_column(IdStr, default=None)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    rating: Mapped[int | None] = mapped_column(Integer, default=None)
    rated_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
