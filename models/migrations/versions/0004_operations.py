"""operations: consecutive failures, flow retries, disabled reason, the attempt of a run's log

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:10:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('integration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consecutive_failures', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('disabled_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('flow_retries', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('flow_retry_delay_seconds', sa.Integer(), nullable=False, server_default='60'))

    with op.batch_alter_table('action_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt', sa.Integer(), nullable=False, server_default='1'))


def downgrade() -> None:
    with op.batch_alter_table('action_log', schema=None) as batch_op:
        batch_op.drop_column('attempt')

    with op.batch_alter_table('integration', schema=None) as batch_op:
        batch_op.drop_column('flow_retry_delay_seconds')
        batch_op.drop_column('flow_retries')
        batch_op.drop_column('disabled_reason')
        batch_op.drop_column('consecutive_failures')
