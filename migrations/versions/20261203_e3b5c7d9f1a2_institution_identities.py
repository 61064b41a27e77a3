"""institution identities

institution_identities: the link between a portal account and the person's account at the
institution (SURFconext): issuer and subject, the principal name an admin linked for staff, the
affiliations of the last login, and the staff confirmation of age for a student the login
created without a date of birth (R20).

Revision ID: e3b5c7d9f1a2
Revises: e3b9c4d2a7f1
Create Date: 2026-12-03 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import rights_portal.db_types


# revision identifiers, used by Alembic.
revision = 'e3b5c7d9f1a2'
down_revision = 'e3b9c4d2a7f1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('institution_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=True),
    sa.Column('principal_name', sa.String(length=254), nullable=True),
    sa.Column('organization', sa.String(length=100), nullable=False),
    sa.Column('affiliations', sa.JSON(), nullable=False),
    sa.Column('created_account', sa.Boolean(), nullable=False),
    sa.Column('linked_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('age_confirmed_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('age_confirmed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['age_confirmed_by_id'], ['users.id'], name=op.f('fk_institution_identities_age_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['linked_by_id'], ['users.id'], name=op.f('fk_institution_identities_linked_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_institution_identities_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institution_identities')),
    sa.UniqueConstraint('issuer', 'subject', name=op.f('uq_institution_identities_issuer')),
    sa.UniqueConstraint('principal_name', name=op.f('uq_institution_identities_principal_name'))
    )
    op.create_index(op.f('ix_institution_identities_user_id'), 'institution_identities', ['user_id'], unique=True)


def downgrade():
    op.drop_index(op.f('ix_institution_identities_user_id'), table_name='institution_identities')
    op.drop_table('institution_identities')
