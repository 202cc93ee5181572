"""attempts: a retried run's action log keeps what each earlier attempt did

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 11:30:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('action_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('past_attempts', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('action_log', schema=None) as batch_op:
        batch_op.drop_column('past_attempts')
