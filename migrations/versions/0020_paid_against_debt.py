"""money received against a debt, what is owed back, and what a payment had refunded

Revision ID: 0020_paid_against_debt
Revises: 0015
Create Date: 2026-12-04 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_paid_against_debt"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("debts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paid", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("to_refund", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("refunded", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("refunded")
    with op.batch_alter_table("debts", schema=None) as batch_op:
        batch_op.drop_column("to_refund")
        batch_op.drop_column("paid")
