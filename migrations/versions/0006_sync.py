"""sync client state (issue 8)

Revision ID: 0006_sync
Revises: 0005_messaging
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import backend.db  # noqa: F401

revision: str = "0006_sync"
down_revision: str | Sequence[str] | None = "0005_messaging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
