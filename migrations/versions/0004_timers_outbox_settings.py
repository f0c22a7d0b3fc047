"""durable timers: leases on waits, start timers, outbox delivery, shared settings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 21:10:00
"""

import sqlalchemy as sa
from alembic import op

from engine.db.types import JsonType, UtcDateTime

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('waits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_by', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('lock_expires_at', UtcDateTime(), nullable=True))
    op.create_table(
        'start_timers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('definition_id', sa.Integer(), nullable=False),
        sa.Column('process_key', sa.String(length=255), nullable=False),
        sa.Column('element_id', sa.String(length=255), nullable=False),
        sa.Column('due_at', UtcDateTime(), nullable=False),
        sa.Column('fired', sa.Integer(), nullable=False),
        sa.Column('cycle', JsonType, nullable=True),
        sa.Column('locked_by', sa.String(length=255), nullable=True),
        sa.Column('lock_expires_at', UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['definition_id'], ['definitions.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_start_timers_due', 'start_timers', ['due_at'])
    op.create_table(
        'settings',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False,
                                      server_default='recorded'))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('deliver_after', UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('locked_by', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('lock_expires_at', UtcDateTime(), nullable=True))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('status', server_default=None)
        batch_op.alter_column('attempts', server_default=None)
        batch_op.create_index('ix_outbox_status', ['status', 'deliver_after'])


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status')
        for column in ('lock_expires_at', 'locked_by', 'deliver_after', 'last_error',
                       'attempts', 'status'):
            batch_op.drop_column(column)
    op.drop_table('settings')
    op.drop_index('ix_start_timers_due', table_name='start_timers')
    op.drop_table('start_timers')
    with op.batch_alter_table('waits', schema=None) as batch_op:
        batch_op.drop_column('lock_expires_at')
        batch_op.drop_column('locked_by')
