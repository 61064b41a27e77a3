"""task outbox

outbox_tasks: Celery tasks queued by a transaction and sent to the broker after it committed;
the relay re-sends a row whose sending failed (transactions.queue_task).

Revision ID: d7a1f0c2e9b4
Revises: c4f8e1a2b3d5
Create Date: 2026-12-03 08:50:00.000000

"""

from alembic import op
import sqlalchemy as sa

import rights_portal.db_types


# revision identifiers, used by Alembic.
revision = "d7a1f0c2e9b4"
down_revision = "c4f8e1a2b3d5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_name", sa.String(length=200), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("created_at", rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_tasks")),
    )
    op.create_index(
        "ix_outbox_tasks_unsent", "outbox_tasks", ["sent_at", "created_at"], unique=False
    )


def downgrade():
    op.drop_index("ix_outbox_tasks_unsent", table_name="outbox_tasks")
    op.drop_table("outbox_tasks")
