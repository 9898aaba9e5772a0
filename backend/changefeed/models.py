"""Tables of the change feed: the ordered log, the per-scope membership and the horizon."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, UtcDateTime


class ChangeLog(Base):
    """One row per change to a syncable row, per scope it is visible in.

    ``tx`` is the writing transaction's id on PostgreSQL (``pg_current_xact_id()``) and 0 on
    SQLite, where writers are serialised. Readers order by ``(tx, id)`` and, on PostgreSQL,
    only read below the oldest transaction still running, so no change is ever skipped.
    """

    __tablename__ = "change_log"
    __table_args__ = (
        Index("ix_change_log_scope_tx_id", "scope", "tx", "id"),
        Index("ix_change_log_entity", "entity", "entity_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tx: Mapped[int] = mapped_column(BigInteger, nullable=False)
    scope: Mapped[str] = mapped_column(String(80), nullable=False)
    entity: Mapped[str] = mapped_column(String(40), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(64), nullable=False)
    op: Mapped[str] = mapped_column(String(8), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class ScopeRow(Base):
    """What each scope holds now: one row per live entity, pointing at its latest change.

    It answers the scope checksum (count and sum of ``digest``) with one indexed aggregate
    and is the source of a consistent snapshot when a cursor falls behind the horizon.
    """

    __tablename__ = "scope_rows"

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    entity: Mapped[str] = mapped_column(String(40), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    digest: Mapped[int] = mapped_column(BigInteger, nullable=False)
    change_id: Mapped[int] = mapped_column(BigInteger, nullable=False)


class FeedHorizon(Base):
    """The compaction horizon: cursors at or below ``(tx, change_id)`` must resync."""

    __tablename__ = "feed_horizon"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tx: Mapped[int] = mapped_column(BigInteger, nullable=False)
    change_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    compacted_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
