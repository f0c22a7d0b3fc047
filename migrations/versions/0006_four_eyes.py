"""four-eyes rule: the user tasks whose completers may not work on an inbox row

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 10:00:00
"""

import sqlalchemy as sa
from alembic import op

from engine.db.types import JsonType

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # rows opened before this revision carry no rule (NULL); new ones copy it from the spec
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('four_eyes_with', JsonType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('four_eyes_with')
