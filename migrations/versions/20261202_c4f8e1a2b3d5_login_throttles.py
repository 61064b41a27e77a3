"""login throttles

login_throttles: failed logins per e-mail address (sha256), with the time of the next allowed
attempt (growing delays) and a temporary lock the owner can lift by e-mail.

Revision ID: c4f8e1a2b3d5
Revises: 9b7d2e4f6a13
Create Date: 2026-12-02 18:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import rights_portal.db_types


# revision identifiers, used by Alembic.
revision = 'c4f8e1a2b3d5'
down_revision = '9b7d2e4f6a13'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttles',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles'))
    )


def downgrade():
    op.drop_table('login_throttles')
