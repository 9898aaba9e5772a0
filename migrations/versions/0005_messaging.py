"""messaging and push outbox (issue 6)

Revision ID: 0005_messaging
Revises: 0004_media
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import backend.db  # noqa: F401

revision: str = "0005_messaging"
down_revision: str | Sequence[str] | None = "0004_media"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
