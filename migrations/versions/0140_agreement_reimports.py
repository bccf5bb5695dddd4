"""agreement_reimports: what a re-import did to a debt under an agreement (issue 16 item 2)

Revision ID: 0140_agreement_reimports
Revises: 0150_voluntary_agreements
Create Date: 2026-12-04 20:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db
from core import rls

revision = "0140_agreement_reimports"
down_revision = "0150_voluntary_agreements"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agreement_reimports",
        sa.Column("agreement_id", sa.Uuid(), nullable=False),
        sa.Column("debt_id", sa.Uuid(), nullable=False),
        sa.Column("contract", sa.String(length=60), nullable=False),
        sa.Column("change", sa.String(length=10), nullable=False),
        sa.Column("action", sa.String(length=15), nullable=False),
        sa.Column("old_amount", sa.BigInteger(), nullable=False),
        sa.Column("new_amount", sa.BigInteger(), nullable=False),
        sa.Column("open_before", sa.BigInteger(), nullable=False),
        sa.Column("open_after", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_reimports_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["debt_id"],
            ["debts.id"],
            name=op.f("fk_agreement_reimports_debt_id_debts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_agreement_reimports_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agreement_reimports_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_reimports")),
        sa.UniqueConstraint(
            "agreement_id",
            "debt_id",
            "change",
            "new_amount",
            name=op.f("uq_agreement_reimports_agreement_id_debt_id_change_new_amount"),
        ),
    )
    with op.batch_alter_table("agreement_reimports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_reimports_agreement_id"), ["agreement_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_agreement_reimports_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "ix_agreement_reimports_tenant_created", ["tenant_id", "created_at"], unique=False
        )
    rls.protect(op, ["agreement_reimports"])


def downgrade() -> None:
    rls.unprotect(op, ["agreement_reimports"])
    with op.batch_alter_table("agreement_reimports", schema=None) as batch_op:
        batch_op.drop_index("ix_agreement_reimports_tenant_created")
        batch_op.drop_index(batch_op.f("ix_agreement_reimports_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_agreement_reimports_agreement_id"))
    op.drop_table("agreement_reimports")
