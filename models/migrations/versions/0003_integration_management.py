"""integration management: partner connections, sources, update types, alerts, actions, requests, API keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 01:53:48.214696
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('integration_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('integration_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sa.Enum('import', 'export', 'other', name='actionkind', native_enum=False, length=32), nullable=False),
    sa.Column('flow', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integration.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('integration_id', 'name')
    )
    with op.batch_alter_table('integration_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_action_integration_id'), ['integration_id'], unique=False)

    op.create_table('action_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('integration_id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('record_ref', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('log_id', sa.Integer(), nullable=False),
    sa.Column('requested_via', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['integration_action.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['integration_id'], ['integration.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['log_id'], ['action_log.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('log_id')
    )
    with op.batch_alter_table('action_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_request_integration_id'), ['integration_id'], unique=False)

    with op.batch_alter_table('action_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('skipped', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('deleted', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))

    with op.batch_alter_table('custom_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))

    with op.batch_alter_table('integration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.Enum('partner', 'connector', 'external', name='integrationsource', native_enum=False, length=32), nullable=False, server_default='connector'))
        batch_op.add_column(sa.Column('data_type', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('author', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('support_contact', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('update_types', sa.JSON(), nullable=False, server_default='["created", "updated"]'))
        batch_op.add_column(sa.Column('deleted_mode', sa.Enum('mark', 'remove', name='deletedmode', native_enum=False, length=32), nullable=False, server_default='mark'))
        batch_op.add_column(sa.Column('alert_emails', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('error_threshold', sa.Integer(), nullable=False, server_default='5'))
        batch_op.add_column(sa.Column('api_key_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('api_key_created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.alter_column('spec',
               existing_type=sa.JSON(),
               nullable=True)
        batch_op.create_unique_constraint('uq_integration_api_key_hash', ['api_key_hash'])

    with op.batch_alter_table('integration_endpoint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('status', sa.Enum('Available', 'Enabled', 'Failed', name='endpointstatus', native_enum=False, length=32), nullable=True))
        batch_op.add_column(sa.Column('connected', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('region', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('base_url', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('credentials_block', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('status_message', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('connected_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')

    with op.batch_alter_table('integration_endpoint', schema=None) as batch_op:
        batch_op.drop_column('connected_at')
        batch_op.drop_column('status_message')
        batch_op.drop_column('credentials_block')
        batch_op.drop_column('base_url')
        batch_op.drop_column('region')
        batch_op.drop_column('connected')
        batch_op.drop_column('status')
        batch_op.drop_column('partner')

    with op.batch_alter_table('integration', schema=None) as batch_op:
        batch_op.drop_constraint('uq_integration_api_key_hash', type_='unique')
        batch_op.alter_column('spec',
               existing_type=sa.JSON(),
               nullable=False)
        batch_op.drop_column('api_key_created_at')
        batch_op.drop_column('api_key_hash')
        batch_op.drop_column('error_threshold')
        batch_op.drop_column('alert_emails')
        batch_op.drop_column('deleted_mode')
        batch_op.drop_column('update_types')
        batch_op.drop_column('support_contact')
        batch_op.drop_column('author')
        batch_op.drop_column('data_type')
        batch_op.drop_column('source')

    with op.batch_alter_table('custom_record', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')

    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')

    with op.batch_alter_table('action_log', schema=None) as batch_op:
        batch_op.drop_column('deleted')
        batch_op.drop_column('skipped')

    with op.batch_alter_table('action_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_request_integration_id'))

    op.drop_table('action_request')
    with op.batch_alter_table('integration_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_action_integration_id'))

    op.drop_table('integration_action')
