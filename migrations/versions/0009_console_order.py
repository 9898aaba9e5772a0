"""support desk (issue 16): an index that hands support tickets newest activity first

Revision ID: 0009_console_order
Revises: 0009_supplier_requests
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_console_order"
down_revision: str | Sequence[str] | None = "0009_supplier_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_conversations_kind_last_message_at", "conversations", ["kind", "last_message_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_kind_last_message_at", table_name="conversations")
