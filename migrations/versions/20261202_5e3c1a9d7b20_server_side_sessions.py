"""server-side sessions

user_sessions: one row per logged-in session (sha256 of the token in the signed cookie, login
and last-seen times, User-Agent). Logout deletes the row, and a cookie without a row is logged
out. Sessions issued before carry no token: everyone logs in again once at deployment.

Revision ID: 5e3c1a9d7b20
Revises: 0aab6a5bf3eb
Create Date: 2026-12-02 17:50:00.000000

"""
from alembic import op
import sqlalchemy as sa

import rights_portal.db_types


# revision identifiers, used by Alembic.
revision = '5e3c1a9d7b20'
down_revision = '0aab6a5bf3eb'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_agent', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))

    op.drop_table('user_sessions')
