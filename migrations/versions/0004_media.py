"""media and evidence (issue 5)

Revision ID: 0004_media
Revises: 0003_field
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql, sqlite

import backend.db

revision: str = "0004_media"
down_revision: str | Sequence[str] | None = "0003_field"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('evidence_entries',
    sa.Column('index', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('record_type', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('photo_hashes', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('logged_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('leaf_hash', sa.String(length=64), nullable=False),
    sa.Column('tree_root', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('index', name=op.f('pk_evidence_entries'))
    )
    with op.batch_alter_table('evidence_entries', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_entries_record', ['record_type', 'record_id'], unique=False)

    op.create_table('evidence_nodes',
    sa.Column('level', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
    sa.PrimaryKeyConstraint('level', 'idx', name=op.f('pk_evidence_nodes'))
    )
    op.create_table('evidence_tree_heads',
    sa.Column('tree_size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('root_hash', sa.String(length=64), nullable=False),
    sa.Column('timestamp_ms', sa.BigInteger(), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('tree_size', name=op.f('pk_evidence_tree_heads'))
    )
    op.create_table('media_photos',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('byte_size', sa.BigInteger(), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('mime_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('orientation', sa.Integer(), nullable=False),
    sa.Column('captured_at', sa.String(length=40), nullable=True),
    sa.Column('gps_lat', sa.Float(), nullable=True),
    sa.Column('gps_lon', sa.Float(), nullable=True),
    sa.Column('camera_make', sa.String(length=120), nullable=True),
    sa.Column('camera_model', sa.String(length=120), nullable=True),
    sa.Column('uploader_user_id', sa.String(length=32), nullable=False),
    sa.Column('uploader_org_id', sa.String(length=32), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('uploaded_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('derivatives', sa.String(length=16), nullable=False),
    sa.Column('derivatives_error', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['uploader_org_id'], ['organisations.id'], name=op.f('fk_media_photos_uploader_org_id_organisations')),
    sa.ForeignKeyConstraint(['uploader_user_id'], ['users.id'], name=op.f('fk_media_photos_uploader_user_id_users')),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_media_photos'))
    )
    with op.batch_alter_table('media_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_photos_derivatives'), ['derivatives'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_photos_uploader_org_id'), ['uploader_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_photos_uploader_user_id'), ['uploader_user_id'], unique=False)

    op.create_table('media_uploads',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('org_id', sa.String(length=32), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('part_keys', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=False),
    sa.Column('meta', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql').with_variant(sqlite.JSON(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reject_code', sa.String(length=40), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('created_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', backend.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_media_uploads_org_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_media_uploads_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_uploads'))
    )
    with op.batch_alter_table('media_uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_uploads_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_uploads_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_uploads_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_uploads_user_id'), ['user_id'], unique=False)

    op.create_table('media_attachments',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('record_type', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('attached_by_user_id', sa.String(length=32), nullable=False),
    sa.Column('attached_by_org_id', sa.String(length=32), nullable=False),
    sa.Column('attached_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attached_by_org_id'], ['organisations.id'], name=op.f('fk_media_attachments_attached_by_org_id_organisations')),
    sa.ForeignKeyConstraint(['attached_by_user_id'], ['users.id'], name=op.f('fk_media_attachments_attached_by_user_id_users')),
    sa.ForeignKeyConstraint(['sha256'], ['media_photos.sha256'], name=op.f('fk_media_attachments_sha256_media_photos')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_attachments')),
    sa.UniqueConstraint('record_type', 'record_id', 'kind', 'sha256', name=op.f('uq_media_attachments_record_type'))
    )
    with op.batch_alter_table('media_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_attachments_sha256'), ['sha256'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('media_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_attachments_sha256'))

    op.drop_table('media_attachments')
    with op.batch_alter_table('media_uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_uploads_user_id'))
        batch_op.drop_index(batch_op.f('ix_media_uploads_sha256'))
        batch_op.drop_index(batch_op.f('ix_media_uploads_org_id'))
        batch_op.drop_index(batch_op.f('ix_media_uploads_expires_at'))

    op.drop_table('media_uploads')
    with op.batch_alter_table('media_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_photos_uploader_user_id'))
        batch_op.drop_index(batch_op.f('ix_media_photos_uploader_org_id'))
        batch_op.drop_index(batch_op.f('ix_media_photos_derivatives'))

    op.drop_table('media_photos')
    op.drop_table('evidence_tree_heads')
    op.drop_table('evidence_nodes')
    with op.batch_alter_table('evidence_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_entries_record')

    op.drop_table('evidence_entries')
