"""api clients

The REST API: api_clients (scopes and the sha256 of the bearer token), api_case_origins (which
client filed a case), api_idempotent_requests (the first answer to a POST with an
Idempotency-Key); cases may arrive by the channel "api".

Revision ID: f4c6d8e0a2b1
Revises: e3b5c7d9f1a2
Create Date: 2026-12-03 09:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import rights_portal.db_types


# revision identifiers, used by Alembic.
revision = 'f4c6d8e0a2b1'
down_revision = 'e3b5c7d9f1a2'
branch_labels = None
depends_on = None

OLD_CHANNELS = "'portal', 'email', 'letter', 'phone', 'desk'"
NEW_CHANNELS = "'portal', 'email', 'letter', 'phone', 'desk', 'api'"


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cases_channel'), type_='check')
        batch_op.create_check_constraint('channel', f'channel IN ({NEW_CHANNELS})')

    op.create_table('api_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('token_prefix', sa.String(length=16), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_clients_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_clients')),
    sa.UniqueConstraint('name', name=op.f('uq_api_clients_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_clients_token_hash'))
    )
    op.create_table('api_case_origins',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_api_case_origins_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['client_id'], ['api_clients.id'], name=op.f('fk_api_case_origins_client_id_api_clients')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_api_case_origins'))
    )
    op.create_index(op.f('ix_api_case_origins_client_id'), 'api_case_origins', ['client_id'], unique=False)
    op.create_table('api_idempotent_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('location', sa.Text(), nullable=True),
    sa.Column('created_at', rights_portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['api_clients.id'], name=op.f('fk_api_idempotent_requests_client_id_api_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotent_requests')),
    sa.UniqueConstraint('client_id', 'key', name=op.f('uq_api_idempotent_requests_client_id'))
    )
    op.create_index(op.f('ix_api_idempotent_requests_created_at'), 'api_idempotent_requests', ['created_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_api_idempotent_requests_created_at'), table_name='api_idempotent_requests')
    op.drop_table('api_idempotent_requests')
    op.drop_index(op.f('ix_api_case_origins_client_id'), table_name='api_case_origins')
    op.drop_table('api_case_origins')
    op.drop_table('api_clients')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cases_channel'), type_='check')
        batch_op.create_check_constraint('channel', f'channel IN ({OLD_CHANNELS})')
