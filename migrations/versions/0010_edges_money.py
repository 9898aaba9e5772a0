"""money and stock quantities in BIGINT (issue 12): price × quantity, order totals, quota use and
expected stock overflowed 32-bit columns on PostgreSQL

Revision ID: 0010_edges_money
Revises: 0009_edges
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_edges_money"
down_revision: str | Sequence[str] | None = "0009_edges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, nullable)
COLUMNS = [
    ("price_entries", "price_minor", False),
    ("regional_quotas", "limit_qty", False),
    ("regional_quotas", "used_qty", False),
    ("orders", "total_minor", True),
    ("order_lines", "unit_price_minor", True),
    ("order_lines", "line_total_minor", True),
    ("stock_levels", "expected_qty", False),
]


def _retype(old: sa.types.TypeEngine, new: sa.types.TypeEngine) -> None:
    for table in dict.fromkeys(t for t, _c, _n in COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for _t, column, nullable in (c for c in COLUMNS if c[0] == table):
                batch_op.alter_column(column, existing_type=old, type_=new, existing_nullable=nullable)


def upgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    _retype(sa.BigInteger(), sa.Integer())
