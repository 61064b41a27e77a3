"""totp recovery codes

Ten one-time codes per staff member with TOTP, stored as sha256 hashes; used_at marks a spent one.

Revision ID: 20273ee4b381
Revises: 38a1e83b4c0f
Create Date: 2026-11-29 15:10:35.794948

"""
from alembic import op
import sqlalchemy as sa

import rights_portal.db_types


# revision identifiers, used by Alembic.
revision = '20273ee4b381'
down_revision = '38a1e83b4c0f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('totp_recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_totp_recovery_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_totp_recovery_codes')),
    sa.UniqueConstraint('user_id', 'code_hash', name=op.f('uq_totp_recovery_codes_user_id'))
    )
    with op.batch_alter_table('totp_recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_totp_recovery_codes_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('totp_recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_totp_recovery_codes_user_id'))

    op.drop_table('totp_recovery_codes')
