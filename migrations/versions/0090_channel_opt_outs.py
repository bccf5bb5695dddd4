"""a person's stop of one channel of one creditor, from the signed link of a message

Revision ID: 0090_channel_opt_outs
Revises: 0050_sso_secret_sealed
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db
from core import rls

revision = "0090_channel_opt_outs"
down_revision = "0050_sso_secret_sealed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_opt_outs",
        sa.Column("debtor_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["debtor_id"],
            ["debtors.id"],
            name=op.f("fk_channel_opt_outs_debtor_id_debtors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_channel_opt_outs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_opt_outs")),
        sa.UniqueConstraint(
            "debtor_id", "channel", name=op.f("uq_channel_opt_outs_debtor_id_channel")
        ),
    )
    with op.batch_alter_table("channel_opt_outs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_channel_opt_outs_tenant_id"), ["tenant_id"], unique=False
        )
    rls.protect(op, ["channel_opt_outs"])


def downgrade() -> None:
    rls.unprotect(op, ["channel_opt_outs"])
    with op.batch_alter_table("channel_opt_outs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_opt_outs_tenant_id"))
    op.drop_table("channel_opt_outs")
