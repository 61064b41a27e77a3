"""requests registered from letter, e-mail, phone or desk

R1: the channels phone and desk join portal, e-mail and letter; case_intakes records who entered
a request received elsewhere and when, how it is acknowledged, and the document as received.

Revision ID: 5b7e2c91d0a4
Revises: 18a75f95284b
Create Date: 2026-12-02 18:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import rights_portal.db_types


# revision identifiers, used by Alembic.
revision = '5b7e2c91d0a4'
down_revision = '18a75f95284b'
branch_labels = None
depends_on = None

OLD_CHANNELS = "'portal', 'email', 'letter'"
NEW_CHANNELS = "'portal', 'email', 'letter', 'phone', 'desk'"


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cases_channel'), type_='check')
        batch_op.create_check_constraint('channel', f'channel IN ({NEW_CHANNELS})')

    op.create_table('case_intakes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=False),
    sa.Column('entered_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('overdue_on_entry', sa.Boolean(), nullable=False),
    sa.Column('acknowledge_by', sa.Enum('email', 'post', name='acknowledge_by', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('postal_address', sa.Text(), nullable=True),
    sa.Column('document_key', sa.String(length=200), nullable=True),
    sa.Column('document_sha256', sa.String(length=64), nullable=True),
    sa.Column('document_size', sa.Integer(), nullable=True),
    sa.Column('document_filename', sa.String(length=255), nullable=True),
    sa.Column('document_type', sa.String(length=64), nullable=True),
    sa.Column('retention_until', sa.Date(), nullable=False),
    sa.Column('document_deleted_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('document_size IS NULL OR document_size > 0', name=op.f('ck_case_intakes_document_not_empty')),
    sa.CheckConstraint('(document_key IS NULL) = (document_sha256 IS NULL) AND (document_key IS NULL) = (document_size IS NULL) AND (document_key IS NULL) = (document_type IS NULL)', name=op.f('ck_case_intakes_document_complete')),
    sa.CheckConstraint("acknowledge_by <> 'post' OR coalesce(length(trim(postal_address)), 0) > 0", name=op.f('ck_case_intakes_post_needs_address')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_intakes_case_id_cases')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_case_intakes_entered_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_intakes')),
    sa.UniqueConstraint('case_id', name=op.f('uq_case_intakes_case_id'))
    )
    with op.batch_alter_table('case_intakes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_intakes_retention_until'), ['retention_until'], unique=False)


def downgrade():
    op.drop_table('case_intakes')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cases_channel'), type_='check')
        batch_op.create_check_constraint('channel', f'channel IN ({OLD_CHANNELS})')
