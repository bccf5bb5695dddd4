"""early payoff: interest waived per installment, and payments that settle everything

Revision ID: 0070_early_payoff
Revises: 0112_declared_income
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0070_early_payoff"
down_revision = "0112_declared_income"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agreement_installments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("waived", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "purpose",
                sa.Enum(
                    "installment", "payoff", name="payment_purpose", native_enum=False, length=20
                ),
                nullable=False,
                server_default="installment",
            )
        )
        batch_op.add_column(
            sa.Column("waived", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(sa.Column("quoted_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("quoted_on")
        batch_op.drop_column("waived")
        batch_op.drop_column("purpose")
    with op.batch_alter_table("agreement_installments", schema=None) as batch_op:
        batch_op.drop_column("waived")
