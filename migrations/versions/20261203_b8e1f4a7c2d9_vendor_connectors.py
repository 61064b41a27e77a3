"""vendor connectors

vendor_connectors (kind, register tool, addresses, Fernet-sealed credentials, last sync and
error), vendor_links (vendor meeting or exam -> exam, student), vendor_items (what a connector
listed; unique vendor file id; the stored file once fetched), vendor_case_checks (per access case
and connector: last listing and its outcome), vendor_requests (vendors without an API: due date,
reminder, receipt).

Revision ID: b8e1f4a7c2d9
Revises: b8e2f61a9c3d
Create Date: 2026-12-03 13:41:07.975745

"""
from alembic import op
import sqlalchemy as sa

import rights_portal.db_types


# revision identifiers, used by Alembic.
revision = 'b8e1f4a7c2d9'
down_revision = 'b8e2f61a9c3d'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('vendor_connectors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('zoom', 'proctorexam', 'on_request', name='connector_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('tool_id', sa.Integer(), nullable=False),
    sa.Column('base_url', sa.String(length=500), nullable=False),
    sa.Column('token_url', sa.String(length=500), nullable=False),
    sa.Column('credentials', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('last_sync_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tool_id'], ['proctoring_tools.id'], name=op.f('fk_vendor_connectors_tool_id_proctoring_tools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_connectors')),
    sa.UniqueConstraint('name', name=op.f('uq_vendor_connectors_name'))
    )
    with op.batch_alter_table('vendor_connectors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_connectors_tool_id'), ['tool_id'], unique=False)

    op.create_table('vendor_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('exam_id', sa.Integer(), nullable=False),
    sa.Column('vendor_ref', sa.String(length=200), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['connector_id'], ['vendor_connectors.id'], name=op.f('fk_vendor_links_connector_id_vendor_connectors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['exam_id'], ['exams.id'], name=op.f('fk_vendor_links_exam_id_exams')),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_vendor_links_student_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_links')),
    sa.UniqueConstraint('connector_id', 'vendor_ref', 'exam_id', 'student_id', name=op.f('uq_vendor_links_connector_id'))
    )
    with op.batch_alter_table('vendor_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_links_connector_id'), ['connector_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vendor_links_exam_id'), ['exam_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vendor_links_student_id'), ['student_id'], unique=False)

    op.create_table('vendor_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('vendor_file_id', sa.String(length=200), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('exam_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('video', 'audio', 'screenshot', 'log', name='file_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('download_url', sa.Text(), nullable=False),
    sa.Column('state', sa.Enum('listed', 'fetched', 'failed', name='vendor_item_state', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('listed_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fetched_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recording_file_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("state <> 'fetched' OR recording_file_id IS NOT NULL", name=op.f('ck_vendor_items_fetched_has_file')),
    sa.ForeignKeyConstraint(['connector_id'], ['vendor_connectors.id'], name=op.f('fk_vendor_items_connector_id_vendor_connectors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['exam_id'], ['exams.id'], name=op.f('fk_vendor_items_exam_id_exams')),
    sa.ForeignKeyConstraint(['recording_file_id'], ['recording_files.id'], name=op.f('fk_vendor_items_recording_file_id_recording_files')),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_vendor_items_student_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_items')),
    sa.UniqueConstraint('connector_id', 'vendor_file_id', name=op.f('uq_vendor_items_connector_id'))
    )
    with op.batch_alter_table('vendor_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_items_connector_id'), ['connector_id'], unique=False)
        batch_op.create_index('ix_vendor_items_student_connector', ['student_id', 'connector_id'], unique=False)

    op.create_table('vendor_case_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('checked_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('listed', sa.Integer(), nullable=False),
    sa.Column('fetched', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_vendor_case_checks_case_id_cases')),
    sa.ForeignKeyConstraint(['connector_id'], ['vendor_connectors.id'], name=op.f('fk_vendor_case_checks_connector_id_vendor_connectors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_case_checks')),
    sa.UniqueConstraint('connector_id', 'case_id', name=op.f('uq_vendor_case_checks_connector_id'))
    )
    with op.batch_alter_table('vendor_case_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_case_checks_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vendor_case_checks_connector_id'), ['connector_id'], unique=False)

    op.create_table('vendor_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('reminded_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('files_received', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_vendor_requests_case_id_cases')),
    sa.ForeignKeyConstraint(['connector_id'], ['vendor_connectors.id'], name=op.f('fk_vendor_requests_connector_id_vendor_connectors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_vendor_requests_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_requests')),
    sa.UniqueConstraint('connector_id', 'case_id', name=op.f('uq_vendor_requests_connector_id'))
    )
    with op.batch_alter_table('vendor_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_requests_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vendor_requests_connector_id'), ['connector_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vendor_requests_due_on'), ['due_on'], unique=False)




def downgrade():

    with op.batch_alter_table('vendor_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendor_requests_due_on'))
        batch_op.drop_index(batch_op.f('ix_vendor_requests_connector_id'))
        batch_op.drop_index(batch_op.f('ix_vendor_requests_case_id'))

    op.drop_table('vendor_requests')
    with op.batch_alter_table('vendor_case_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendor_case_checks_connector_id'))
        batch_op.drop_index(batch_op.f('ix_vendor_case_checks_case_id'))

    op.drop_table('vendor_case_checks')
    with op.batch_alter_table('vendor_items', schema=None) as batch_op:
        batch_op.drop_index('ix_vendor_items_student_connector')
        batch_op.drop_index(batch_op.f('ix_vendor_items_connector_id'))

    op.drop_table('vendor_items')
    with op.batch_alter_table('vendor_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendor_links_student_id'))
        batch_op.drop_index(batch_op.f('ix_vendor_links_exam_id'))
        batch_op.drop_index(batch_op.f('ix_vendor_links_connector_id'))

    op.drop_table('vendor_links')
    with op.batch_alter_table('vendor_connectors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendor_connectors_tool_id'))

    op.drop_table('vendor_connectors')

