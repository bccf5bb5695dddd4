"""Pix with a due date (cobv): the charge's terms, the amount received, the late charges

Revision ID: 0201_due_charges
Revises: 0200_pix_provider
Create Date: 2026-12-04 22:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0201_due_charges"
down_revision = "0200_pix_provider"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_charge", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("received", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("late_charges", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("late_charges")
        batch_op.drop_column("received")
        batch_op.drop_column("due_charge")
