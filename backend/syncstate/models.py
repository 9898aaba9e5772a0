"""Tables of syncstate: each client's applied sequence number and every mutation's stored result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, IdStr, utcnow


class SyncClient(Base):
    """One phone's outbox position: the highest ``seq`` the server has acknowledged."""

    __tablename__ = "sync_clients"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncMutation(Base):
    """The result of one acknowledged seq, returned again for a retried id (see :mod:`sync.push_identity`).

    ``tx`` is the pushing transaction's id on PostgreSQL (0 on SQLite): a pull reports a seq
    as applied only once its transaction is below the pull's watermark.
    """

    __tablename__ = "sync_mutations"
    __table_args__ = (
        # The id leads: a push reads its batch's ids, one index probe each (migration 0013).
        UniqueConstraint("mutation_id", "user_id", "client_id"),
        Index("ix_sync_mutations_client_seq", "user_id", "client_id", "seq", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(IdStr, nullable=False)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # None on a seq acknowledged by an ``id_reused`` rejection (sync/push_identity.py).
    mutation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    code: Mapped[str | None] = mapped_column(String(64), default=None)
    message: Mapped[str | None] = mapped_column(String(500), default=None)
    data: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    tx: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
