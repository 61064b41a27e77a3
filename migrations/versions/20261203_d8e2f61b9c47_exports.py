"""exports

exports: large exports (the audit trail as CSV, the DPO's report as PDF) asked for on a page and
built by the worker (issue 23): who asked, the kind and filters, the status, the stored file
(key, sha256, size) and when it expires.

Revision ID: d8e2f61b9c47
Revises: b8e1f4a7c2d9
Create Date: 2026-12-03 13:44:17.865252

"""
from alembic import op
import sqlalchemy as sa

import rights_portal.db_types


# revision identifiers, used by Alembic.
revision = 'd8e2f61b9c47'
down_revision = "b8e1f4a7c2d9"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('audit_trail', 'dpo_report', name='export_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('status', sa.Enum('queued', 'building', 'ready', 'failed', 'expired', name='export_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status <> 'expired' OR storage_key IS NULL", name=op.f('ck_exports_expired_no_file')),
    sa.CheckConstraint("status <> 'failed' OR error IS NOT NULL", name=op.f('ck_exports_failure_has_error')),
    sa.CheckConstraint("status <> 'ready' OR (storage_key IS NOT NULL AND length(coalesce(sha256, '')) = 64 AND size_bytes IS NOT NULL AND expires_at IS NOT NULL)", name=op.f('ck_exports_ready_has_file')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_exports_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exports'))
    )
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.create_index('ix_exports_ready_expiry', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'ready'"), sqlite_where=sa.text("status = 'ready'"))
        batch_op.create_index(batch_op.f('ix_exports_requested_by_id'), ['requested_by_id'], unique=False)



def downgrade():
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exports_requested_by_id'))
        batch_op.drop_index('ix_exports_ready_expiry', postgresql_where=sa.text("status = 'ready'"), sqlite_where=sa.text("status = 'ready'"))

    op.drop_table('exports')
