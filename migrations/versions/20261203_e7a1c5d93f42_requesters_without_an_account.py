"""requesters without an account, and the letters sent to them

R1, R20-R22: a request registered by staff may come from someone without a portal account (a
former student, the parent of a child under 16). external_requesters records them (name, e-mail,
relation, the identity check, the account the case was later linked to); requester_letters keeps
every message sent to them, by e-mail or as a letter for post.

Revision ID: e7a1c5d93f42
Revises: d7a1f0c2e9b4
Create Date: 2026-12-03 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import rights_portal.db_types


# revision identifiers, used by Alembic.
revision = 'e7a1c5d93f42'
down_revision = 'd7a1f0c2e9b4'
branch_labels = None
depends_on = None


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade():
    op.create_table('external_requesters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('intake_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('stand_in_id', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('relation', _enum('requester_relation', 'self', 'legal_representative'), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('identity_checked_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('identity_checked_by_id', sa.Integer(), nullable=True),
    sa.Column('identity_document', _enum('external_identity_document', 'passport', 'identity_card', 'driving_licence', 'residence_permit'), nullable=True),
    sa.Column('identity_seen_on', sa.Date(), nullable=True),
    sa.Column('authority_document', _enum('external_authority_document', 'custody_register_extract', 'brp_extract', 'court_decision'), nullable=True),
    sa.Column('linked_user_id', sa.Integer(), nullable=True),
    sa.Column('linked_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('linked_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('email IS NULL OR email = lower(email)', name=op.f('ck_external_requesters_email_lowercase')),
    sa.CheckConstraint('coalesce(length(trim(full_name)), 0) > 0', name=op.f('ck_external_requesters_has_a_name')),
    sa.CheckConstraint('(identity_checked_at IS NULL) = (identity_checked_by_id IS NULL) AND (identity_checked_at IS NULL) = (identity_document IS NULL) AND (identity_checked_at IS NULL) = (identity_seen_on IS NULL)', name=op.f('ck_external_requesters_identity_check_complete')),
    sa.CheckConstraint("relation <> 'legal_representative' OR identity_checked_at IS NULL OR authority_document IS NOT NULL", name=op.f('ck_external_requesters_representative_authority_checked')),
    sa.CheckConstraint('(linked_user_id IS NULL) = (linked_at IS NULL) AND (linked_user_id IS NULL) = (linked_by_id IS NULL)', name=op.f('ck_external_requesters_link_complete')),
    sa.ForeignKeyConstraint(['intake_id'], ['case_intakes.id'], name=op.f('fk_external_requesters_intake_id_case_intakes')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_external_requesters_case_id_cases')),
    sa.ForeignKeyConstraint(['stand_in_id'], ['users.id'], name=op.f('fk_external_requesters_stand_in_id_users')),
    sa.ForeignKeyConstraint(['identity_checked_by_id'], ['users.id'], name=op.f('fk_external_requesters_identity_checked_by_id_users')),
    sa.ForeignKeyConstraint(['linked_user_id'], ['users.id'], name=op.f('fk_external_requesters_linked_user_id_users')),
    sa.ForeignKeyConstraint(['linked_by_id'], ['users.id'], name=op.f('fk_external_requesters_linked_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_requesters')),
    sa.UniqueConstraint('intake_id', name=op.f('uq_external_requesters_intake_id')),
    sa.UniqueConstraint('case_id', name=op.f('uq_external_requesters_case_id')),
    sa.UniqueConstraint('stand_in_id', name=op.f('uq_external_requesters_stand_in_id')),
    )

    op.create_table('requester_letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('template', sa.String(length=60), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('discloses_personal_data', sa.Boolean(), nullable=False),
    sa.Column('delivery', _enum('letter_delivery', 'email', 'post'), nullable=False),
    sa.Column('held', sa.Boolean(), nullable=False),
    sa.Column('outbox_message_id', sa.Integer(), nullable=True),
    sa.Column('printed_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('printed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('coalesce(length(trim(body)), 0) > 0', name=op.f('ck_requester_letters_body_not_empty')),
    sa.CheckConstraint('(printed_at IS NULL) = (printed_by_id IS NULL)', name=op.f('ck_requester_letters_print_complete')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_requester_letters_case_id_cases')),
    sa.ForeignKeyConstraint(['requester_id'], ['external_requesters.id'], name=op.f('fk_requester_letters_requester_id_external_requesters')),
    sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_messages.id'], name=op.f('fk_requester_letters_outbox_message_id_outbox_messages')),
    sa.ForeignKeyConstraint(['printed_by_id'], ['users.id'], name=op.f('fk_requester_letters_printed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requester_letters')),
    )
    with op.batch_alter_table('requester_letters', schema=None) as batch_op:
        batch_op.create_index('ix_requester_letters_case_id_id', ['case_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_requester_letters_requester_id'), ['requester_id'], unique=False)


def downgrade():
    op.drop_table('requester_letters')
    op.drop_table('external_requesters')
