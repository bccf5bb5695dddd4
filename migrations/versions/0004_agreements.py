"""agreements

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 02:16:23.586063
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db
from core import rls

TENANT_TABLES = ("agreements", "agreement_installments", "agreement_debts")

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agreements",
        sa.Column("debtor_id", sa.Uuid(), nullable=False),
        sa.Column("offer_code", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("discount", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("down_payment", sa.BigInteger(), nullable=False),
        sa.Column("monthly_rate", sa.String(length=20), nullable=False),
        sa.Column("cet_yearly", sa.String(length=20), nullable=False),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("reason_text", sa.String(length=500), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["debtor_id"],
            ["debtors.id"],
            name=op.f("fk_agreements_debtor_id_debtors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agreements_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_agreements_idempotency_key")),
    )
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreements_debtor_id"), ["debtor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agreements_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_agreements_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "agreement_debts",
        sa.Column("agreement_id", sa.Uuid(), nullable=False),
        sa.Column("debt_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_debts_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["debt_id"],
            ["debts.id"],
            name=op.f("fk_agreement_debts_debt_id_debts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agreement_debts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agreement_id", "debt_id", name=op.f("pk_agreement_debts")),
    )
    with op.batch_alter_table("agreement_debts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_debts_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "agreement_installments",
        sa.Column("agreement_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_installments_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agreement_installments_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_installments")),
        sa.UniqueConstraint(
            "agreement_id", "number", name=op.f("uq_agreement_installments_agreement_id_number")
        ),
    )
    with op.batch_alter_table("agreement_installments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_installments_agreement_id"), ["agreement_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_agreement_installments_tenant_id"), ["tenant_id"], unique=False
        )

    rls.protect(op, TENANT_TABLES)


def downgrade() -> None:
    rls.unprotect(op, TENANT_TABLES)
    with op.batch_alter_table("agreement_installments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_installments_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_agreement_installments_agreement_id"))

    op.drop_table("agreement_installments")
    with op.batch_alter_table("agreement_debts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_debts_tenant_id"))

    op.drop_table("agreement_debts")
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreements_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_agreements_status"))
        batch_op.drop_index(batch_op.f("ix_agreements_debtor_id"))

    op.drop_table("agreements")
