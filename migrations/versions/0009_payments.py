"""payments

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 11:30:17.184784
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db
from core import rls

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_events",
        sa.Column("provider_event_id", sa.String(length=80), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("account", sa.String(length=80), nullable=False),
        sa.Column("object_id", sa.String(length=80), nullable=False),
        sa.Column("occurred_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_events")),
        sa.UniqueConstraint("provider_event_id", name=op.f("uq_gateway_events_provider_event_id")),
    )
    with op.batch_alter_table("gateway_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gateway_events_object_id"), ["object_id"], unique=False
        )

    op.create_table(
        "payments",
        sa.Column("agreement_id", sa.Uuid(), nullable=False),
        sa.Column("installment_number", sa.Integer(), nullable=False),
        sa.Column(
            "method",
            sa.Enum("pix", "boleto", "card", name="payment_method", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "processing",
                "succeeded",
                "failed",
                "canceled",
                "refunded",
                "disputed",
                name="payment_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("provider_id", sa.String(length=80), nullable=True),
        sa.Column("pix_code", sa.String(length=1000), nullable=False),
        sa.Column("boleto_line", sa.String(length=80), nullable=False),
        sa.Column("voucher_url", sa.String(length=500), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("failure", sa.String(length=300), nullable=False),
        sa.Column("applied", sa.JSON(), nullable=False),
        sa.Column("applied_credit", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_payments_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_payments_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payments_idempotency_key")),
        sa.UniqueConstraint("provider_id", name=op.f("uq_payments_provider_id")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payments_agreement_id"), ["agreement_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_payments_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_payments_tenant_id"), ["tenant_id"], unique=False)

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("credit", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("last_event_on", sa.Date(), nullable=True))

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stripe_account", sa.String(length=80), nullable=False, server_default="")
        )

    rls.protect(op, ["payments"])


def downgrade() -> None:
    rls.unprotect(op, ["payments"])
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("stripe_account")

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("last_event_on")
        batch_op.drop_column("credit")

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_payments_status"))
        batch_op.drop_index(batch_op.f("ix_payments_agreement_id"))

    op.drop_table("payments")
    with op.batch_alter_table("gateway_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_events_object_id"))

    op.drop_table("gateway_events")
