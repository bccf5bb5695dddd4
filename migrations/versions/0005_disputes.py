"""disputes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 02:20:52.612427
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db
from core import rls

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("debt_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("answer", sa.String(length=1000), nullable=False),
        sa.Column("answered_by", sa.Uuid(), nullable=True),
        sa.Column("answered_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["answered_by"],
            ["users.id"],
            name=op.f("fk_disputes_answered_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["debt_id"], ["debts.id"], name=op.f("fk_disputes_debt_id_debts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_disputes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disputes_debt_id"), ["debt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_disputes_tenant_status", ["tenant_id", "status"], unique=False)

    rls.protect(op, ["disputes"])


def downgrade() -> None:
    rls.unprotect(op, ["disputes"])
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index("ix_disputes_tenant_status")
        batch_op.drop_index(batch_op.f("ix_disputes_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_disputes_debt_id"))

    op.drop_table("disputes")
