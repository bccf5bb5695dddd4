"""bureau files (remessas) and, per escalation, the files that sent its listing and removal

Revision ID: 0101_bureau_files
Revises: 0130_debtor_search_name
Create Date: 2026-12-04 19:55:00

Listings made before files were tracked are counted as sent (by a file number 0 per
tenant, without rows): sending them again would list a person twice. Their removals,
when already requested, stay pending: a removal sent twice is harmless, one forgotten
keeps a person listed after paying (STJ Súmula 548).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.db
from core import rls

revision = "0101_bureau_files"
down_revision = "0130_debtor_search_name"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bureau_files",
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("inclusions", sa.Integer(), nullable=False),
        sa.Column("removals", sa.Integer(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_bureau_files_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_bureau_files_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bureau_files")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_bureau_files_tenant_id_number")),
    )
    with op.batch_alter_table("bureau_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bureau_files_tenant_id"), ["tenant_id"], unique=False)
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("listing_file_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("removal_file_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_escalations_listing_file_id_bureau_files"),
            "bureau_files",
            ["listing_file_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_escalations_removal_file_id_bureau_files"),
            "bureau_files",
            ["removal_file_id"],
            ["id"],
        )
    _count_earlier_listings_as_sent()
    rls.protect(op, ["bureau_files"])


def _count_earlier_listings_as_sent() -> None:
    bind = op.get_bind()
    files = sa.table(
        "bureau_files",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("number", sa.Integer()),
        sa.column("inclusions", sa.Integer()),
        sa.column("removals", sa.Integer()),
        sa.column("rows", sa.JSON()),
        sa.column("created_at", core.db.UTCDateTime(timezone=True)),
    )
    escalations = sa.table(
        "escalations",
        sa.column("tenant_id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("listed_on", sa.Date()),
        sa.column("listing_file_id", sa.Uuid()),
    )
    tenants = bind.execute(
        sa.select(escalations.c.tenant_id)
        .where(escalations.c.kind == "negativacao", escalations.c.listed_on.is_not(None))
        .distinct()
    ).scalars()
    now = datetime.now(UTC)
    for tenant_id in list(tenants):
        file_id = uuid.uuid4()
        bind.execute(
            sa.insert(files).values(
                id=file_id,
                tenant_id=tenant_id,
                number=0,
                inclusions=0,
                removals=0,
                rows=[],
                created_at=now,
            )
        )
        bind.execute(
            sa.update(escalations)
            .where(
                escalations.c.tenant_id == tenant_id,
                escalations.c.kind == "negativacao",
                escalations.c.listed_on.is_not(None),
            )
            .values(listing_file_id=file_id)
        )


def downgrade() -> None:
    rls.unprotect(op, ["bureau_files"])
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_escalations_removal_file_id_bureau_files"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_escalations_listing_file_id_bureau_files"), type_="foreignkey"
        )
        batch_op.drop_column("removal_file_id")
        batch_op.drop_column("listing_file_id")
    with op.batch_alter_table("bureau_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bureau_files_tenant_id"))
    op.drop_table("bureau_files")
