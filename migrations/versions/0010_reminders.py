"""reminders

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 11:45:55.577256
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.db
from collection.domain.regua import DEFAULT_REGUA
from core import rls

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminder_steps",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "anchor",
            sa.Enum(
                "debt_due",
                "installment_due",
                "agreement_broken",
                name="reminder_anchor",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("email", "sms", "whatsapp", name="channel", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.String(length=2000), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_reminder_steps_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_steps")),
    )
    with op.batch_alter_table("reminder_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reminder_steps_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "messages",
        sa.Column("step_id", sa.Uuid(), nullable=True),
        sa.Column("subject_key", sa.String(length=40), nullable=False),
        sa.Column("debtor_id", sa.Uuid(), nullable=False),
        sa.Column("debt_id", sa.Uuid(), nullable=True),
        sa.Column("agreement_id", sa.Uuid(), nullable=True),
        sa.Column("installment_id", sa.Uuid(), nullable=True),
        sa.Column(
            "channel",
            sa.Enum(
                "email", "sms", "whatsapp", name="message_channel", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("planned_for", sa.Date(), nullable=False),
        sa.Column("send_after", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "sending",
                "sent",
                "blocked",
                "failed",
                name="message_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sa.String(length=120), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.String(length=4000), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_messages_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_messages_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["debt_id"], ["debts.id"], name=op.f("fk_messages_debt_id_debts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["debtor_id"],
            ["debtors.id"],
            name=op.f("fk_messages_debtor_id_debtors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["installment_id"],
            ["agreement_installments.id"],
            name=op.f("fk_messages_installment_id_agreement_installments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["reminder_steps.id"],
            name=op.f("fk_messages_step_id_reminder_steps"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("step_id", "subject_key", name=op.f("uq_messages_step_id_subject_key")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messages_agreement_id"), ["agreement_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_messages_debt_id"), ["debt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_debtor_id"), ["debtor_id"], unique=False)
        batch_op.create_index("ix_messages_due", ["status", "send_after"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_tenant_id"), ["tenant_id"], unique=False)

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("broken_on", sa.Date(), nullable=True))

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reminders_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    rls.protect(op, ["reminder_steps", "messages"])
    _default_regua_for_existing_tenants()


def _default_regua_for_existing_tenants() -> None:
    """Tenants created before the régua existed get the default one, switched off."""
    bind = op.get_bind()
    tenants = sa.table("tenants", sa.column("id", sa.Uuid()))
    steps = sa.table(
        "reminder_steps",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("created_at", core.db.UTCDateTime(timezone=True)),
        sa.column("name", sa.String()),
        sa.column("anchor", sa.String()),
        sa.column("offset_days", sa.Integer()),
        sa.column("channel", sa.String()),
        sa.column("subject", sa.String()),
        sa.column("body", sa.String()),
        sa.column("is_active", sa.Boolean()),
    )
    now = datetime.now(UTC)
    rows = [
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "created_at": now,
            "name": step.name,
            "anchor": step.anchor,
            "offset_days": step.offset_days,
            "channel": step.channel,
            "subject": step.subject,
            "body": step.body,
            "is_active": True,
        }
        for (tenant_id,) in bind.execute(sa.select(tenants.c.id))
        for step in DEFAULT_REGUA
    ]
    if rows:
        op.bulk_insert(steps, rows)


def downgrade() -> None:
    rls.unprotect(op, ["reminder_steps", "messages"])
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("reminders_enabled")

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("broken_on")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_tenant_id"))
        batch_op.drop_index("ix_messages_due")
        batch_op.drop_index(batch_op.f("ix_messages_debtor_id"))
        batch_op.drop_index(batch_op.f("ix_messages_debt_id"))
        batch_op.drop_index(batch_op.f("ix_messages_agreement_id"))

    op.drop_table("messages")
    with op.batch_alter_table("reminder_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_steps_tenant_id"))

    op.drop_table("reminder_steps")
