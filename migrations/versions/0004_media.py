"""media and evidence (issue 5)

Revision ID: 0004_media
Revises: 0003_field
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import backend.db  # noqa: F401

revision: str = "0004_media"
down_revision: str | Sequence[str] | None = "0003_field"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
