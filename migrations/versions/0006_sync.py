"""sync client state (issue 8): each client's applied seq and stored mutation results

Revision ID: 0006_sync
Revises: 0005_messaging
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql, sqlite

import backend.db

revision: str = "0006_sync"
down_revision: str | Sequence[str] | None = "0005_messaging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sync_mutations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('mutation_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=True),
    sa.Column('tx', sa.BigInteger(), nullable=False),
    sa.Column('applied_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_mutations')),
    sa.UniqueConstraint('user_id', 'client_id', 'mutation_id', name=op.f('uq_sync_mutations_user_id'))
    )
    with op.batch_alter_table('sync_mutations', schema=None) as batch_op:
        batch_op.create_index('ix_sync_mutations_client_seq', ['user_id', 'client_id', 'seq'], unique=True)

    op.create_table('sync_clients',
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('created_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sync_clients_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'client_id', name=op.f('pk_sync_clients'))
    )


def downgrade() -> None:
    op.drop_table('sync_clients')
    with op.batch_alter_table('sync_mutations', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_mutations_client_seq')

    op.drop_table('sync_mutations')
