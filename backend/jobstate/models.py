"""A job's lease (who runs it now, until when) and its last outcome; one row per run, kept an hour."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId


class JobLease(Base):
    """One row per job name. A worker runs the job only after taking the lease (an ``UPDATE`` that
    succeeds only when the lease has lapsed and the interval has passed since the last start)."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(80), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)  # running, ok, failed
    error: Mapped[str | None] = mapped_column(String(200), default=None)
    runs: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(BigInteger, default=0)


class JobRun(Base):
    """One run of a job (the last hour of them): what operators and the deployment test read."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_name_started", "name", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    holder: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    outcome: Mapped[str] = mapped_column(String(16), default="running")
