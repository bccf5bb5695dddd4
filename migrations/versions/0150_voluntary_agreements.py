"""agreements made by voluntary payment of prescribed debts (never actively collected)

Revision ID: 0150_voluntary_agreements
Revises: 0101_bureau_files
Create Date: 2026-12-04 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0150_voluntary_agreements"
down_revision = "0101_bureau_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("voluntary", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("voluntary")
