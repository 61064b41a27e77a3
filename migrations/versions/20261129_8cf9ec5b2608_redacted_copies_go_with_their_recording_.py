"""redacted copies go with their recording; a hold cancels a half-done deletion

R25: deleting a recording file also deletes the redacted copies made from it for access
requests. The deletion intent lists them (deletion_records.redacted_copies, with their keys,
sha256 and size); the access item decision keeps its row and says when its copy was deleted
(access_item_decisions.redacted_deleted_at), so a redaction without its key is valid once its
copy is deleted.

A pending intent whose recording is held when a run resumes it is cancelled with the reason
(outcomes cancelled / partly_deleted, cancelled_at, cancel_reason). A file may then get a new
intent later, so "one record per file" becomes "one live (not cancelled) record per file", and
"pending" means "no outcome yet".

Copies left behind by deletions made before this revision are found and deleted by the next
purge (they are still listed with their keys on their decisions).

Revision ID: 8cf9ec5b2608
Revises: c9c21bc11328
Create Date: 2026-11-29 14:45:00.000000

"""
from alembic import op
import sqlalchemy as sa

import rights_portal.db_types


# revision identifiers, used by Alembic.
revision = '8cf9ec5b2608'
down_revision = 'c9c21bc11328'
branch_labels = None
depends_on = None

OLD_OUTCOMES = "outcome IN ('deleted', 'already_missing')"
NEW_OUTCOMES = "outcome IN ('deleted', 'already_missing', 'cancelled', 'partly_deleted')"
OLD_DONE = (
    "(deleted_at IS NULL AND outcome IS NULL) OR (deleted_at IS NOT NULL"
    " AND outcome IS NOT NULL)"
)
NEW_DONE = (
    "(outcome IS NULL AND deleted_at IS NULL AND cancelled_at IS NULL)"
    " OR (outcome IN ('deleted', 'already_missing') AND deleted_at IS NOT NULL"
    " AND cancelled_at IS NULL)"
    " OR (outcome IN ('cancelled', 'partly_deleted') AND deleted_at IS NULL"
    " AND cancelled_at IS NOT NULL AND length(trim(coalesce(cancel_reason, ''))) > 0)"
)
OLD_REDACTION = (
    "decision <> 'redacted' OR (item_type = 'file' AND redacted_storage_key IS NOT NULL"
    " AND length(coalesce(redacted_sha256, '')) = 64"
    " AND coalesce(redacted_size_bytes, -1) >= 0"
    " AND length(trim(coalesce(protects, ''))) > 0)"
)
NEW_REDACTION = (
    "decision <> 'redacted' OR (item_type = 'file'"
    " AND (redacted_storage_key IS NOT NULL OR redacted_deleted_at IS NOT NULL)"
    " AND length(coalesce(redacted_sha256, '')) = 64"
    " AND coalesce(redacted_size_bytes, -1) >= 0"
    " AND length(trim(coalesce(protects, ''))) > 0)"
)
OLD_ONLY_WHEN = "decision = 'redacted' OR (redacted_storage_key IS NULL AND protects IS NULL)"
NEW_ONLY_WHEN = (
    "decision = 'redacted' OR (redacted_storage_key IS NULL AND protects IS NULL"
    " AND redacted_deleted_at IS NULL)"
)


def upgrade():
    with op.batch_alter_table('access_item_decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redacted_deleted_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(op.f('ck_access_item_decisions_redaction_complete'), type_='check')
        batch_op.create_check_constraint(op.f('ck_access_item_decisions_redaction_complete'), NEW_REDACTION)
        batch_op.drop_constraint(op.f('ck_access_item_decisions_redacted_copy_only_when_redacted'), type_='check')
        batch_op.create_check_constraint(op.f('ck_access_item_decisions_redacted_copy_only_when_redacted'), NEW_ONLY_WHEN)
        batch_op.create_check_constraint(op.f('ck_access_item_decisions_deleted_copy_has_no_key'), "redacted_deleted_at IS NULL OR redacted_storage_key IS NULL")

    with op.batch_alter_table('deletion_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redacted_copies', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('cancelled_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.Text(), nullable=True))
        batch_op.drop_constraint(op.f('ck_deletion_records_deletion_outcome'), type_='check')
        batch_op.create_check_constraint(op.f('ck_deletion_records_deletion_outcome'), NEW_OUTCOMES)
        batch_op.drop_constraint(op.f('ck_deletion_records_done_has_outcome'), type_='check')
        batch_op.create_check_constraint(op.f('ck_deletion_records_done_has_outcome'), NEW_DONE)
        batch_op.drop_constraint('uq_deletion_records_file', type_='unique')
        batch_op.drop_index('ix_deletion_records_pending', postgresql_where=sa.text('deleted_at IS NULL'), sqlite_where=sa.text('deleted_at IS NULL'))

    with op.batch_alter_table('deletion_records', schema=None) as batch_op:
        batch_op.alter_column('redacted_copies', server_default=None)
        batch_op.create_index('uq_deletion_records_file', ['file_id'], unique=True, postgresql_where=sa.text('cancelled_at IS NULL'), sqlite_where=sa.text('cancelled_at IS NULL'))
        batch_op.create_index('ix_deletion_records_pending', ['id'], unique=False, postgresql_where=sa.text('outcome IS NULL'), sqlite_where=sa.text('outcome IS NULL'))


def downgrade():
    # The old schema can express neither a cancelled intent nor a redaction whose copy is gone.
    bind = op.get_bind()
    cancelled = bind.execute(sa.text("SELECT count(*) FROM deletion_records WHERE cancelled_at IS NOT NULL")).scalar()
    copies_gone = bind.execute(sa.text("SELECT count(*) FROM access_item_decisions WHERE redacted_deleted_at IS NOT NULL")).scalar()
    if cancelled or copies_gone:
        raise RuntimeError(
            f"cannot downgrade: {cancelled} cancelled deletion intents and {copies_gone} deleted"
            " redacted copies have no place in the older schema"
        )
    with op.batch_alter_table('deletion_records', schema=None) as batch_op:
        batch_op.drop_index('ix_deletion_records_pending', postgresql_where=sa.text('outcome IS NULL'), sqlite_where=sa.text('outcome IS NULL'))
        batch_op.drop_index('uq_deletion_records_file', postgresql_where=sa.text('cancelled_at IS NULL'), sqlite_where=sa.text('cancelled_at IS NULL'))

    with op.batch_alter_table('deletion_records', schema=None) as batch_op:
        batch_op.create_index('ix_deletion_records_pending', ['id'], unique=False, postgresql_where=sa.text('deleted_at IS NULL'), sqlite_where=sa.text('deleted_at IS NULL'))
        batch_op.create_unique_constraint('uq_deletion_records_file', ['file_id'])
        batch_op.drop_constraint(op.f('ck_deletion_records_done_has_outcome'), type_='check')
        batch_op.create_check_constraint(op.f('ck_deletion_records_done_has_outcome'), OLD_DONE)
        batch_op.drop_constraint(op.f('ck_deletion_records_deletion_outcome'), type_='check')
        batch_op.create_check_constraint(op.f('ck_deletion_records_deletion_outcome'), OLD_OUTCOMES)
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('redacted_copies')

    with op.batch_alter_table('access_item_decisions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_access_item_decisions_deleted_copy_has_no_key'), type_='check')
        batch_op.drop_constraint(op.f('ck_access_item_decisions_redacted_copy_only_when_redacted'), type_='check')
        batch_op.create_check_constraint(op.f('ck_access_item_decisions_redacted_copy_only_when_redacted'), OLD_ONLY_WHEN)
        batch_op.drop_constraint(op.f('ck_access_item_decisions_redaction_complete'), type_='check')
        batch_op.create_check_constraint(op.f('ck_access_item_decisions_redaction_complete'), OLD_REDACTION)
        batch_op.drop_column('redacted_deleted_at')
