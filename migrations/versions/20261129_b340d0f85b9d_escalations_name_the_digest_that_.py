"""escalations name the digest that announced them

The deadline sweep now commits per batch of cases and sends the DPO digest in a transaction of
its own, so an escalation can be committed by a sweep that dies before its digest. Each
escalation row now names the digest that announced it; the next sweep's digest announces those
left without one (R9, exactly once). ix_reminders_unannounced_escalations finds them; it holds
almost nothing.

Escalations from before this revision were announced in the transaction that recorded them.
They are linked to the first digest of their day written after them; the few without one (no
active DPO then, so no digest was written) get one mail-less digest row per day, so the next
sweep does not announce years of old escalations again.

Revision ID: b340d0f85b9d
Revises: ad1a55d4b377
Create Date: 2026-11-29 14:02:53.397979

"""
from alembic import op
import sqlalchemy as sa

import rights_portal.db_types


# revision identifiers, used by Alembic.
revision = 'b340d0f85b9d'
down_revision = 'ad1a55d4b377'
branch_labels = None
depends_on = None

UNANNOUNCED = "key = 'escalation' AND escalation_digest_id IS NULL"


def upgrade():
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalation_digest_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_reminders_escalation_digest_id_escalation_digests'), 'escalation_digests', ['escalation_digest_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_reminders_digest_only_escalations'), "key = 'escalation' OR escalation_digest_id IS NULL")

    op.execute(
        "UPDATE reminders SET escalation_digest_id = ("
        " SELECT d.id FROM escalation_digests d"
        " WHERE d.day = reminders.milestone_on AND d.created_at >= reminders.created_at"
        " ORDER BY d.created_at, d.id LIMIT 1)"
        " WHERE key = 'escalation'"
    )
    op.execute(
        "INSERT INTO escalation_digests (day, case_count, outbox_message_id, created_at)"
        " SELECT milestone_on, count(*), NULL, min(created_at) FROM reminders"
        f" WHERE {UNANNOUNCED} GROUP BY milestone_on"
    )
    op.execute(
        "UPDATE reminders SET escalation_digest_id = ("
        " SELECT max(d.id) FROM escalation_digests d"
        " WHERE d.day = reminders.milestone_on AND d.outbox_message_id IS NULL)"
        f" WHERE {UNANNOUNCED}"
    )

    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index('ix_reminders_unannounced_escalations', ['id'], unique=False, postgresql_where=sa.text(UNANNOUNCED), sqlite_where=sa.text(UNANNOUNCED))


def downgrade():
    # The digest rows written above stay: they are records of escalations, not of this column.
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_reminders_unannounced_escalations', postgresql_where=sa.text(UNANNOUNCED), sqlite_where=sa.text(UNANNOUNCED))
        batch_op.drop_constraint(batch_op.f('ck_reminders_digest_only_escalations'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_reminders_escalation_digest_id_escalation_digests'), type_='foreignkey')
        batch_op.drop_column('escalation_digest_id')
