"""deploy (issue 18): job leases and their runs; the writer lease of a tus upload

Revision ID: 0007_deploy
Revises: 0006_sync
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "0007_deploy"
down_revision: str | Sequence[str] | None = "0006_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=80), nullable=True),
        sa.Column("lease_until", backend.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("started_at", backend.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", backend.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_leases")),
    )
    op.create_table(
        "job_runs",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=80), nullable=False),
        sa.Column("started_at", backend.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", backend.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index("ix_job_runs_name_started", ["name", "started_at"], unique=False)

    with op.batch_alter_table("media_uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("writer", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("writer_until", backend.db.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("media_uploads", schema=None) as batch_op:
        batch_op.drop_column("writer_until")
        batch_op.drop_column("writer")

    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_job_runs_name_started")

    op.drop_table("job_runs")
    op.drop_table("job_leases")
