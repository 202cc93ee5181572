"""manager log indexes: an integration's action logs of one status, newest first, without a scan

The Integration Manager's status filter on an integration with many logs (bench/console_bench.py).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:35:00
"""

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('action_log', schema=None) as batch_op:
        batch_op.create_index('ix_action_log_integration_status', ['integration_id', 'status', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('action_log', schema=None) as batch_op:
        batch_op.drop_index('ix_action_log_integration_status')
