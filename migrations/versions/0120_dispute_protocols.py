"""dispute protocol numbers and attached documents; per-tenant document counters

Existing disputes get their protocol numbers in the order they were opened, per tenant
and year (issue 25 item 4); the counters continue from there.

Revision ID: 0120_dispute_protocols
Revises: 0092_first_contact
Create Date: 2026-12-04 19:27:33.406443
"""

from __future__ import annotations

import uuid
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import core.db
from core import rls

revision = "0120_dispute_protocols"
down_revision = "0092_first_contact"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_counters",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_document_counters_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_counters")),
        sa.UniqueConstraint(
            "tenant_id", "kind", "year", name=op.f("uq_document_counters_tenant_id_kind_year")
        ),
    )
    with op.batch_alter_table("document_counters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_counters_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "dispute_attachments",
        sa.Column("dispute_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.id"],
            name=op.f("fk_dispute_attachments_dispute_id_disputes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_dispute_attachments_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_attachments")),
    )
    with op.batch_alter_table("dispute_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispute_attachments_dispute_id"), ["dispute_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dispute_attachments_tenant_id"), ["tenant_id"], unique=False
        )

    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("protocol", sa.String(length=20), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_disputes_tenant_id_protocol"), ["tenant_id", "protocol"]
        )

    rls.protect(op, ["document_counters", "dispute_attachments"])
    _number_existing_disputes()


def _number_existing_disputes() -> None:
    disputes = sa.table(
        "disputes",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("created_at", core.db.UTCDateTime(timezone=True)),
        sa.column("protocol", sa.String()),
    )
    counters = sa.table(
        "document_counters",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("year", sa.Integer()),
        sa.column("last", sa.Integer()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(disputes.c.id, disputes.c.tenant_id, disputes.c.created_at).order_by(
            disputes.c.tenant_id, disputes.c.created_at, disputes.c.id
        )
    ).all()
    zone = ZoneInfo("America/Sao_Paulo")
    last: dict[tuple[uuid.UUID, int], int] = {}
    for dispute_id, tenant_id, created_at in rows:
        when = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        year = when.astimezone(zone).year
        number = last.get((tenant_id, year), 0) + 1
        last[(tenant_id, year)] = number
        bind.execute(
            sa.update(disputes)
            .where(disputes.c.id == dispute_id)
            .values(protocol=f"CT-{year}-{number:06d}")
        )
    if last:
        op.bulk_insert(
            counters,
            [
                {"id": uuid.uuid4(), "tenant_id": t, "kind": "CT", "year": y, "last": n}
                for (t, y), n in last.items()
            ],
        )


def downgrade() -> None:
    rls.unprotect(op, ["document_counters", "dispute_attachments"])
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_disputes_tenant_id_protocol"), type_="unique")
        batch_op.drop_column("protocol")

    with op.batch_alter_table("dispute_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_attachments_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_dispute_attachments_dispute_id"))

    op.drop_table("dispute_attachments")
    with op.batch_alter_table("document_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_counters_tenant_id"))

    op.drop_table("document_counters")
