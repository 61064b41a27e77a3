"""session generation ends old sessions

users.session_generation: sessions carry it (Flask-Login "id:generation"); a password reset,
a deactivation or "log out everywhere" bumps it, so sessions issued before stop working.
Existing sessions (plain ids) end once at deployment: everyone logs in again.

Revision ID: 38a1e83b4c0f
Revises: 8cf9ec5b2608
Create Date: 2026-11-29 15:04:01.358653

"""
from alembic import op
import sqlalchemy as sa

import rights_portal.db_types


# revision identifiers, used by Alembic.
revision = '38a1e83b4c0f'
down_revision = '8cf9ec5b2608'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('session_generation', sa.Integer(), server_default=sa.text('0'), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
