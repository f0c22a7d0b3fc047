"""gap-free number sequences (licence numbers); timers claimed in index order

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 21:35:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # claims take due timers by (due_at, id): the index serves that order without a sort
    op.drop_index('ix_waits_due', table_name='waits')
    op.create_index('ix_waits_due', 'waits', ['kind', 'due_at', 'id'])
    op.create_table(
        'sequences',
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('sequences')
    op.drop_index('ix_waits_due', table_name='waits')
    op.create_index('ix_waits_due', 'waits', ['kind', 'due_at'])
