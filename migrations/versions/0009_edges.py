"""push identity rule (issue 12): a seq acknowledged by an ``id_reused`` rejection is stored without an id

Revision ID: 0009_edges
Revises: 0009_console_order
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_edges"
down_revision: str | Sequence[str] | None = "0009_console_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_mutations", schema=None) as batch_op:
        batch_op.alter_column("mutation_id", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM sync_mutations WHERE mutation_id IS NULL")
    with op.batch_alter_table("sync_mutations", schema=None) as batch_op:
        batch_op.alter_column("mutation_id", existing_type=sa.String(length=64), nullable=False)
