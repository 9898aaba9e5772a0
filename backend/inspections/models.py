"""Tables of inspections: versioned templates, inspections (visits) and their answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.changefeed import Syncable
from backend.db import Base, IdStr, JsonDoc, new_id, utcnow

IN_PROGRESS = "in_progress"
SUBMITTED = "submitted"


def terminal_scopes(get: Any) -> set[str]:
    return {f"org:{get('distributor_id')}", f"terminal:{get('terminal_id')}"}


class InspectionTemplate(Syncable, Base):
    """One version of a checklist. Revising a template adds a version; rows never change
    except ``is_current``, so an inspection pinned to a version keeps its questions."""

    __tablename__ = "inspection_templates"
    __sync_entity__ = "inspection_template"
    __table_args__ = (UniqueConstraint("family_id", "version_no"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    family_id: Mapped[str] = mapped_column(IdStr, index=True)
    version_no: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    owner_kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(IdStr, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        if get("owner_kind") == "supplier":
            return {f"catalog:{get('owner_id')}"}
        return {f"org:{get('owner_id')}"}

    def question(self, question_id: str) -> dict[str, Any] | None:
        return next((q for q in self.questions if q["id"] == question_id), None)


class Inspection(Syncable, Base):
    """A visit: a user inspects a terminal against one template version. Frozen once submitted."""

    __tablename__ = "inspections"
    __sync_entity__ = "inspection"
    __table_args__ = (Index("ix_inspections_distributor_status", "distributor_id", "status"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    template_id: Mapped[str] = mapped_column(ForeignKey("inspection_templates.id"), index=True)
    template_owner_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    terminal_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    distributor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    inspector_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(16), default=IN_PROGRESS)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    submitted_by: Mapped[str | None] = mapped_column(IdStr, default=None)
    score: Mapped[float | None] = mapped_column(Float, default=None)
    max_score: Mapped[float | None] = mapped_column(Float, default=None)
    score_pct: Mapped[float | None] = mapped_column(Float, default=None)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return terminal_scopes(get)


class InspectionAnswer(Syncable, Base):
    """The current answer to one question of an inspection: last writer wins by HLC stamp."""

    __tablename__ = "inspection_answers"
    __sync_entity__ = "inspection_answer"
    __table_args__ = (UniqueConstraint("inspection_id", "question_id"),)

    id: Mapped[str] = mapped_column(IdStr, primary_key=True, default=new_id)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    question_id: Mapped[str] = mapped_column(String(40))
    value: Mapped[Any] = mapped_column(JsonDoc)
    hlc: Mapped[str] = mapped_column(String(96))
    answered_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[str | None] = mapped_column(String(64), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    distributor_id: Mapped[str] = mapped_column(IdStr, index=True)
    terminal_id: Mapped[str] = mapped_column(IdStr)

    @classmethod
    def sync_scopes(cls, get: Any) -> set[str]:
        return terminal_scopes(get)
