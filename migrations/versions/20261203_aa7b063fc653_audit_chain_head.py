"""audit chain head

The head of the audit chain moves into a one-row table, audit_chain_head, and the database
itself extends it: a trigger on every INSERT into audit_events compares the new event's
prev_hash with the head and swaps in the new event, or refuses the insert. A fork (two events
naming the same predecessor) or an event that does not name the head is thereby impossible in
the database, whoever inserts. The row lock on the head serialises appends (record() takes it
with SELECT ... FOR UPDATE, replacing the advisory lock and the ORDER BY id DESC lookup).

This replaces the two unique indexes on random keys, uq_audit_events_hash and
ix_audit_events_prev_hash: every append wrote a random leaf page of each (sha256 values), and
at 5 million events those indexes (~490 MB each) no longer fit in shared buffers, so the cost of
an append grew with the trail (bench/results/audit-append-before.md). Every remaining index of
audit_events inserts at the end of its key (id, or id within a case, actor or action).

The head row is guarded too: it cannot be deleted or truncated, it can only be created for an
empty trail (naming the genesis hash), and on PostgreSQL only the chain trigger may update it
(on SQLite an update must name the newest event with its hash). As for the append-only triggers,
only someone who disables triggers (owner or superuser) gets past this, and the verifier then
finds what they did.

Revision ID: aa7b063fc653
Revises: d8e2f61b9c47
Create Date: 2026-12-03 14:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'aa7b063fc653'
down_revision = "d8e2f61b9c47"
branch_labels = None
depends_on = None

GENESIS = "0" * 64

PG_EXTEND = """
CREATE FUNCTION audit_events_extend_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_chain_head SET event_id = NEW.id, hash = NEW.hash
     WHERE id = 1 AND hash = NEW.prev_hash;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit chain fork refused: event % names %… as its predecessor,'
            ' which is not the head of the chain (R24)', NEW.id, left(NEW.prev_hash, 16)
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END
$$
"""

PG_GUARD = f"""
CREATE FUNCTION audit_chain_head_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The chain trigger's own UPDATE runs one trigger level down.
    IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' AND NEW.event_id IS NULL AND NEW.hash = '{GENESIS}'
       AND NOT EXISTS (SELECT 1 FROM audit_events) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_chain_head moves only when an event is appended: % is not allowed'
        ' (R24)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade():
    op.create_table(
        'audit_chain_head',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_audit_chain_head_one_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head')),
    )
    # The head is the newest event, or the genesis hash for an empty trail.
    op.execute(
        "INSERT INTO audit_chain_head (id, event_id, hash)"
        " SELECT 1, id, hash FROM audit_events WHERE id = (SELECT max(id) FROM audit_events)"
    )
    op.execute(
        f"INSERT INTO audit_chain_head (id, event_id, hash) SELECT 1, NULL, '{GENESIS}'"
        " WHERE NOT EXISTS (SELECT 1 FROM audit_chain_head)"
    )
    op.drop_index('ix_audit_events_prev_hash', table_name='audit_events')
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.drop_constraint('uq_audit_events_hash', 'audit_events', type_='unique')
        op.execute(PG_EXTEND)
        op.execute(
            "CREATE TRIGGER audit_events_extend_chain BEFORE INSERT ON audit_events"
            " FOR EACH ROW EXECUTE FUNCTION audit_events_extend_chain()"
        )
        op.execute(PG_GUARD)
        op.execute(
            "CREATE TRIGGER audit_chain_head_guard BEFORE INSERT OR UPDATE OR DELETE"
            " ON audit_chain_head FOR EACH ROW EXECUTE FUNCTION audit_chain_head_guard()"
        )
        op.execute(
            "CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head"
            " FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_guard()"
        )
    elif dialect == "sqlite":
        # SQLite keeps the unique constraint on hash (part of the table definition; dropping
        # it would rebuild the table and its append-only triggers). Its cost does not matter
        # at the embedded size.
        op.execute(
            "CREATE TRIGGER audit_events_extend_chain BEFORE INSERT ON audit_events"
            " WHEN NOT EXISTS (SELECT 1 FROM audit_chain_head WHERE id = 1"
            " AND hash = NEW.prev_hash)"
            " BEGIN SELECT RAISE(ABORT, 'audit chain fork refused: the event does not name"
            " the head of the chain as its predecessor (R24)'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_events_move_head AFTER INSERT ON audit_events"
            " BEGIN UPDATE audit_chain_head SET event_id = NEW.id, hash = NEW.hash"
            " WHERE id = 1; END"
        )
        op.execute(
            "CREATE TRIGGER audit_chain_head_no_update BEFORE UPDATE ON audit_chain_head"
            " WHEN NEW.event_id IS NOT (SELECT max(id) FROM audit_events)"
            " OR NEW.hash IS NOT (SELECT hash FROM audit_events WHERE id = NEW.event_id)"
            " BEGIN SELECT RAISE(ABORT, 'audit_chain_head moves only when an event is"
            " appended (R24)'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head"
            " BEGIN SELECT RAISE(ABORT, 'audit_chain_head moves only when an event is"
            " appended (R24)'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_chain_head_only_genesis BEFORE INSERT ON audit_chain_head"
            f" WHEN NEW.event_id IS NOT NULL OR NEW.hash <> '{GENESIS}'"
            " OR EXISTS (SELECT 1 FROM audit_events)"
            " BEGIN SELECT RAISE(ABORT, 'audit_chain_head moves only when an event is"
            " appended (R24)'); END"
        )


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER audit_chain_head_no_truncate ON audit_chain_head")
        op.execute("DROP TRIGGER audit_chain_head_guard ON audit_chain_head")
        op.execute("DROP FUNCTION audit_chain_head_guard()")
        op.execute("DROP TRIGGER audit_events_extend_chain ON audit_events")
        op.execute("DROP FUNCTION audit_events_extend_chain()")
        op.create_unique_constraint('uq_audit_events_hash', 'audit_events', ['hash'])
    elif dialect == "sqlite":
        for trigger in (
            "audit_chain_head_only_genesis",
            "audit_chain_head_no_delete",
            "audit_chain_head_no_update",
            "audit_events_move_head",
            "audit_events_extend_chain",
        ):
            op.execute(f"DROP TRIGGER {trigger}")
    op.create_index('ix_audit_events_prev_hash', 'audit_events', ['prev_hash'], unique=True)
    op.drop_table('audit_chain_head')
