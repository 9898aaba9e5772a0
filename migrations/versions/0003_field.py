"""stock, inspections (issue 4)

Revision ID: 0003_field
Revises: 0002_orders
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import backend.db  # noqa: F401

revision: str = "0003_field"
down_revision: str | Sequence[str] | None = "0002_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
