"""the system audit chain's head, kept like an instance's: deletions at its end are seen

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

HEAD = "audit.system_head"


def upgrade() -> None:
    connection = op.get_bind()
    last = connection.execute(sa.text(
        "SELECT hash FROM audit_events WHERE instance_id IS NULL ORDER BY id DESC LIMIT 1"
    )).scalar()
    connection.execute(sa.text("INSERT INTO settings (name, value) VALUES (:name, :value)"),
                       {"name": HEAD, "value": last or ""})


def downgrade() -> None:
    op.get_bind().execute(sa.text("DELETE FROM settings WHERE name = :name"), {"name": HEAD})
