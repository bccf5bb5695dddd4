"""import jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 01:53:10.139293
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db
from core import rls

TENANT_TABLES = ("import_jobs", "import_column_choices")

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_column_choices",
        sa.Column("header", sa.String(length=120), nullable=False),
        sa.Column("field", sa.String(length=30), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_import_column_choices_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_column_choices")),
        sa.UniqueConstraint(
            "tenant_id", "header", name=op.f("uq_import_column_choices_tenant_id_header")
        ),
    )
    with op.batch_alter_table("import_column_choices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_column_choices_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "import_jobs",
        sa.Column("portfolio_name", sa.String(length=120), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("stored_path", sa.String(length=500), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "preview_queued",
                "previewing",
                "previewed",
                "import_queued",
                "importing",
                "imported",
                "failed",
                name="import_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("preview", sa.JSON(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("claimed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_import_jobs_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_import_jobs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_import_jobs_tenant_created", ["tenant_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_import_jobs_tenant_id"), ["tenant_id"], unique=False)

    rls.protect(op, TENANT_TABLES)


def downgrade() -> None:
    rls.unprotect(op, TENANT_TABLES)
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_jobs_tenant_id"))
        batch_op.drop_index("ix_import_jobs_tenant_created")

    op.drop_table("import_jobs")
    with op.batch_alter_table("import_column_choices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_column_choices_tenant_id"))

    op.drop_table("import_column_choices")
