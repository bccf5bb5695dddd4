"""planned through

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 12:55:00.617271
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("planned_through", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reminder_steps", schema=None) as batch_op:
        batch_op.drop_column("planned_through")
