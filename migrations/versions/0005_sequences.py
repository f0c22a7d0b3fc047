"""gap-free number sequences (licence numbers)

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
    op.create_table(
        'sequences',
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('sequences')
