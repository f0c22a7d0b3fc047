"""inbox index: candidate rows carry unassigned, the due date and "multi"

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 16:10:00
"""

import sqlalchemy as sa
from alembic import op

from engine.db.types import UtcDateTime

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

FAR_FUTURE = "9999-12-31 00:00:00"


def upgrade() -> None:
    with op.batch_alter_table('task_candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unassigned', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('due_key', UtcDateTime(), nullable=False,
                                      server_default=FAR_FUTURE))
        batch_op.add_column(sa.Column('multi', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.execute("""
        UPDATE task_candidates SET
            unassigned = (SELECT tasks.assignee IS NULL FROM tasks
                          WHERE tasks.id = task_candidates.task_id),
            due_key = COALESCE((SELECT tasks.due_at FROM tasks
                                WHERE tasks.id = task_candidates.task_id), due_key),
            multi = (SELECT count(*) FROM task_candidates AS other
                     WHERE other.task_id = task_candidates.task_id) > 1
    """)
    with op.batch_alter_table('task_candidates', schema=None) as batch_op:
        batch_op.alter_column('unassigned', server_default=None)
        batch_op.alter_column('due_key', server_default=None)
        batch_op.alter_column('multi', server_default=None)
        batch_op.drop_index('ix_task_candidates_candidate')
        batch_op.create_index('ix_task_candidates_inbox',
                              ['candidate', 'unassigned', 'due_key', 'task_id', 'multi'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('task_candidates', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidates_inbox')
        batch_op.create_index('ix_task_candidates_candidate', ['candidate', 'task_id'],
                              unique=False)
        batch_op.drop_column('multi')
        batch_op.drop_column('due_key')
        batch_op.drop_column('unassigned')
