"""agency work

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 06:18:07.653794
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db
from core import rls

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handover_rules",
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("min_days_overdue", sa.Integer(), nullable=True),
        sa.Column("min_amount", sa.BigInteger(), nullable=True),
        sa.Column("on_broken_agreement", sa.Boolean(), nullable=False),
        sa.Column("after_regua", sa.Boolean(), nullable=False),
        sa.Column("commission_rate", sa.String(length=12), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_handover_rules_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_handover_rules_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_rules")),
    )
    with op.batch_alter_table("handover_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handover_rules_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "notice_batches",
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("letters", sa.Integer(), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_notice_batches_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_notice_batches_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_batches")),
    )
    with op.batch_alter_table("notice_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notice_batches_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "handovers",
        sa.Column("debtor_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=True),
        sa.Column("commission_rate", sa.String(length=12), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active", "recalled", "closed", name="handover_status", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("handed_over_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.Uuid(), nullable=True),
        sa.Column("claimed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("last_contact_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_handovers_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by"],
            ["users.id"],
            name=op.f("fk_handovers_claimed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["debtor_id"],
            ["debtors.id"],
            name=op.f("fk_handovers_debtor_id_debtors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["handover_rules.id"],
            name=op.f("fk_handovers_rule_id_handover_rules"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_handovers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handovers")),
    )
    with op.batch_alter_table("handovers", schema=None) as batch_op:
        batch_op.create_index("ix_handovers_agency_status", ["agency_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_handovers_claimed_by"), ["claimed_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_handovers_debtor_id"), ["debtor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_handovers_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ux_handovers_active_debtor",
            ["tenant_id", "debtor_id"],
            unique=True,
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "site_visits",
        sa.Column("debtor_id", sa.Uuid(), nullable=False),
        sa.Column("what", sa.String(length=30), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["debtor_id"],
            ["debtors.id"],
            name=op.f("fk_site_visits_debtor_id_debtors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_site_visits_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_visits")),
    )
    with op.batch_alter_table("site_visits", schema=None) as batch_op:
        batch_op.create_index("ix_site_visits_debtor_at", ["debtor_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_site_visits_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "case_entries",
        sa.Column("debtor_id", sa.Uuid(), nullable=False),
        sa.Column("handover_id", sa.Uuid(), nullable=True),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("author_label", sa.String(length=254), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "note", "call", "promise", name="case_entry_kind", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("call_outcome", sa.String(length=30), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("promised_amount", sa.BigInteger(), nullable=True),
        sa.Column("promised_on", sa.Date(), nullable=True),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("promise_status", sa.String(length=20), nullable=False),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_case_entries_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_case_entries_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["debtor_id"],
            ["debtors.id"],
            name=op.f("fk_case_entries_debtor_id_debtors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["handover_id"],
            ["handovers.id"],
            name=op.f("fk_case_entries_handover_id_handovers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_case_entries_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_entries")),
    )
    with op.batch_alter_table("case_entries", schema=None) as batch_op:
        batch_op.create_index("ix_case_entries_debtor_at", ["debtor_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_entries_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "escalations",
        sa.Column("debt_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "negativacao",
                "protesto",
                "judicial",
                name="escalation_kind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("eligible_on", sa.Date(), nullable=True),
        sa.Column("listed_on", sa.Date(), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("removal_due_on", sa.Date(), nullable=True),
        sa.Column("removal_requested_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["notice_batches.id"],
            name=op.f("fk_escalations_batch_id_notice_batches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["debt_id"], ["debts.id"], name=op.f("fk_escalations_debt_id_debts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_escalations_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_escalations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalations_debt_id"), ["debt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_escalations_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ix_escalations_tenant_kind_status", ["tenant_id", "kind", "status"], unique=False
        )

    op.create_table(
        "special_offers",
        sa.Column("debtor_id", sa.Uuid(), nullable=False),
        sa.Column("handover_id", sa.Uuid(), nullable=True),
        sa.Column("proposed_by", sa.Uuid(), nullable=True),
        sa.Column("proposed_by_label", sa.String(length=254), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                "accepted",
                "expired",
                "withdrawn",
                name="special_offer_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("debt_ids", sa.JSON(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("discount_rate", sa.String(length=12), nullable=False),
        sa.Column("installments", sa.Integer(), nullable=False),
        sa.Column("monthly_rate", sa.String(length=12), nullable=False),
        sa.Column("justification", sa.String(length=1000), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=False),
        sa.Column("agreement_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_special_offers_agreement_id_agreements"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["debtor_id"],
            ["debtors.id"],
            name=op.f("fk_special_offers_debtor_id_debtors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_special_offers_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["handover_id"],
            ["handovers.id"],
            name=op.f("fk_special_offers_handover_id_handovers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"],
            ["users.id"],
            name=op.f("fk_special_offers_proposed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_special_offers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_special_offers")),
    )
    with op.batch_alter_table("special_offers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_special_offers_debtor_id"), ["debtor_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_special_offers_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "ix_special_offers_tenant_status", ["tenant_id", "status"], unique=False
        )

    rls.protect(
        op,
        [
            "handover_rules",
            "notice_batches",
            "handovers",
            "site_visits",
            "case_entries",
            "escalations",
            "special_offers",
        ],
    )
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("negativacao_wait_days", sa.Integer(), nullable=False, server_default="10")
        )


def downgrade() -> None:
    rls.unprotect(
        op,
        [
            "handover_rules",
            "notice_batches",
            "handovers",
            "site_visits",
            "case_entries",
            "escalations",
            "special_offers",
        ],
    )
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("negativacao_wait_days")

    with op.batch_alter_table("special_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_special_offers_tenant_status")
        batch_op.drop_index(batch_op.f("ix_special_offers_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_special_offers_debtor_id"))

    op.drop_table("special_offers")
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index("ix_escalations_tenant_kind_status")
        batch_op.drop_index(batch_op.f("ix_escalations_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_escalations_debt_id"))

    op.drop_table("escalations")
    with op.batch_alter_table("case_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_entries_tenant_id"))
        batch_op.drop_index("ix_case_entries_debtor_at")

    op.drop_table("case_entries")
    with op.batch_alter_table("site_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_visits_tenant_id"))
        batch_op.drop_index("ix_site_visits_debtor_at")

    op.drop_table("site_visits")
    with op.batch_alter_table("handovers", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_handovers_active_debtor",
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index(batch_op.f("ix_handovers_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_handovers_debtor_id"))
        batch_op.drop_index(batch_op.f("ix_handovers_claimed_by"))
        batch_op.drop_index("ix_handovers_agency_status")

    op.drop_table("handovers")
    with op.batch_alter_table("notice_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_batches_tenant_id"))

    op.drop_table("notice_batches")
    with op.batch_alter_table("handover_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handover_rules_tenant_id"))

    op.drop_table("handover_rules")
