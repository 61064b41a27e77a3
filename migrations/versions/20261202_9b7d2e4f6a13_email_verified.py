"""email verified

users.email_verified: only a verified address can log in. Every existing row counts as verified
(server default true); only accounts from the public registration start unverified.

Revision ID: 9b7d2e4f6a13
Revises: 5e3c1a9d7b20
Create Date: 2026-12-02 18:05:00.000000

"""
from alembic import op
import sqlalchemy as sa

import rights_portal.db_types


# revision identifiers, used by Alembic.
revision = '9b7d2e4f6a13'
down_revision = '5e3c1a9d7b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('email_verified', sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_verified')
