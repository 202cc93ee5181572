"""crash healing: a stable unique id per integration (its lease name), the host, process and lease of a run's log

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:00:00
"""

import uuid

from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('integration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(), nullable=True))

    integration = sa.table('integration', sa.column('id', sa.Integer()), sa.column('uid', sa.String()))
    connection = op.get_bind()
    for (row_id,) in connection.execute(sa.select(integration.c.id)).all():
        connection.execute(integration.update().where(integration.c.id == row_id).values(uid=uuid.uuid4().hex))

    with op.batch_alter_table('integration', schema=None) as batch_op:
        batch_op.alter_column('uid', existing_type=sqlmodel.sql.sqltypes.AutoString(), nullable=False)
        batch_op.create_unique_constraint('uq_integration_uid', ['uid'])

    with op.batch_alter_table('action_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('host', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('pid', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('lease_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('action_log', schema=None) as batch_op:
        batch_op.drop_column('lease_id')
        batch_op.drop_column('pid')
        batch_op.drop_column('host')

    with op.batch_alter_table('integration', schema=None) as batch_op:
        batch_op.drop_constraint('uq_integration_uid', type_='unique')
        batch_op.drop_column('uid')
