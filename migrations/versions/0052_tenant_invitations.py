"""invitations wait for the person's answer; the tenant last chosen is remembered per user

Revision ID: 0052_tenant_invitations
Revises: 0110_retention
Create Date: 2026-12-04 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db
from core import rls

revision = "0052_tenant_invitations"
down_revision = "0110_retention"
branch_labels = None
depends_on = None

ROLES = ("owner", "admin", "analyst", "viewer", "supervisor", "agent")


def upgrade() -> None:
    op.create_table(
        "tenant_invitations",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role", sa.Enum(*ROLES, name="role", native_enum=False, length=20), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "accepted",
                "declined",
                "revoked",
                name="invitation_status",
                native_enum=False,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["users.id"],
            name=op.f("fk_tenant_invitations_invited_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tenant_invitations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_tenant_invitations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_invitations")),
    )
    with op.batch_alter_table("tenant_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tenant_invitations_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tenant_invitations_user_id"), ["user_id"], unique=False
        )
        batch_op.create_index(
            "ux_tenant_invitations_pending",
            ["tenant_id", "user_id"],
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_tenant_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_users_last_tenant_id_tenants"),
            "tenants",
            ["last_tenant_id"],
            ["id"],
            ondelete="SET NULL",
        )
    rls.protect(op, ["tenant_invitations"])


def downgrade() -> None:
    rls.unprotect(op, ["tenant_invitations"])
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_users_last_tenant_id_tenants"), type_="foreignkey")
        batch_op.drop_column("last_tenant_id")
    with op.batch_alter_table("tenant_invitations", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_tenant_invitations_pending",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index(batch_op.f("ix_tenant_invitations_user_id"))
        batch_op.drop_index(batch_op.f("ix_tenant_invitations_tenant_id"))
    op.drop_table("tenant_invitations")
