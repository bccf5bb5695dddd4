"""negotiation policy versions; agreements record the version they came from

Each tenant that had a policy of its own gets it as version 1 (source "migration").
Existing agreements keep policy_version_id NULL: they were made before versions were
recorded, under whatever policy was in force then (docs/POLICY.md).

Revision ID: 0080_policy_versions
Revises: 0051_sso_domain_proof
Create Date: 2026-12-04 18:43:23.192294
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.db
from core import rls

revision = "0080_policy_versions"
down_revision = "0051_sso_domain_proof"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("toml", sa.Text(), nullable=False),
        sa.Column("published_by", sa.Uuid(), nullable=True),
        sa.Column("published_by_label", sa.String(length=254), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["published_by"],
            ["users.id"],
            name=op.f("fk_policy_versions_published_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_policy_versions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_versions")),
        sa.UniqueConstraint(
            "tenant_id", "number", name=op.f("uq_policy_versions_tenant_id_number")
        ),
    )
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_policy_versions_tenant_id"), ["tenant_id"], unique=False
        )

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy_version_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_agreements_policy_version_id_policy_versions"),
            "policy_versions",
            ["policy_version_id"],
            ["id"],
            ondelete="SET NULL",
        )

    rls.protect(op, ["policy_versions"])
    _first_versions()


def _first_versions() -> None:
    tenants = sa.table("tenants", sa.column("id", sa.Uuid()), sa.column("policy_toml", sa.Text()))
    versions = sa.table(
        "policy_versions",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("number", sa.Integer()),
        sa.column("toml", sa.Text()),
        sa.column("published_by_label", sa.String()),
        sa.column("source", sa.String()),
        sa.column("created_at", core.db.UTCDateTime(timezone=True)),
    )
    rows = op.get_bind().execute(
        sa.select(tenants.c.id, tenants.c.policy_toml).where(tenants.c.policy_toml.is_not(None))
    )
    now = datetime.now(UTC)
    first = [
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "number": 1,
            "toml": toml,
            "published_by_label": "",
            "source": "migration",
            "created_at": now,
        }
        for tenant_id, toml in rows
    ]
    if first:
        op.bulk_insert(versions, first)


def downgrade() -> None:
    rls.unprotect(op, ["policy_versions"])
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_agreements_policy_version_id_policy_versions"), type_="foreignkey"
        )
        batch_op.drop_column("policy_version_id")

    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_versions_tenant_id"))

    op.drop_table("policy_versions")
