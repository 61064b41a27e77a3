"""ooapi sync

exams.removed_in_source_at (an exam the student-information system no longer offers is
marked, not deleted), exam_enrolments (a student's enrolment for an exam as the source reports
it), ooapi_records (OOAPI ids with a hash of the facts taken from them: an incremental,
idempotent sync) and ooapi_sync_runs (each run's outcome, counts, changes or error).

Revision ID: b8e2f61a9c3d
Revises: a5b7c9d1e3f0
Create Date: 2026-12-03 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import rights_portal.db_types


# revision identifiers, used by Alembic.
revision = 'b8e2f61a9c3d'
down_revision = 'a5b7c9d1e3f0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removed_in_source_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True))
    op.create_table('exam_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exam_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_in_source_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['exam_id'], ['exams.id'], name=op.f('fk_exam_enrolments_exam_id_exams')),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_exam_enrolments_student_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_enrolments')),
    sa.UniqueConstraint('exam_id', 'student_id', name=op.f('uq_exam_enrolments_exam_id'))
    )
    op.create_index(op.f('ix_exam_enrolments_exam_id'), 'exam_enrolments', ['exam_id'], unique=False)
    op.create_index(op.f('ix_exam_enrolments_student_id'), 'exam_enrolments', ['student_id'], unique=False)
    op.create_table('ooapi_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ooapi_id', sa.String(length=64), nullable=False),
    sa.Column('local_id', sa.Integer(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('first_seen_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ooapi_records')),
    sa.UniqueConstraint('kind', 'ooapi_id', name=op.f('uq_ooapi_records_kind'))
    )
    op.create_table('ooapi_sync_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('started_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_kind', sa.String(length=32), nullable=True),
    sa.Column('error_detail', sa.Text(), nullable=True),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('warnings', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ooapi_sync_runs'))
    )
    op.create_index(op.f('ix_ooapi_sync_runs_started_at'), 'ooapi_sync_runs', ['started_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_ooapi_sync_runs_started_at'), table_name='ooapi_sync_runs')
    op.drop_table('ooapi_sync_runs')
    op.drop_table('ooapi_records')
    op.drop_index(op.f('ix_exam_enrolments_student_id'), table_name='exam_enrolments')
    op.drop_index(op.f('ix_exam_enrolments_exam_id'), table_name='exam_enrolments')
    op.drop_table('exam_enrolments')
    with op.batch_alter_table('exams', schema=None) as batch_op:
        batch_op.drop_column('removed_in_source_at')
