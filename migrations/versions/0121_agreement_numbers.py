"""agreement numbers (AC-2026-000045) per tenant, for the agreement's papers

Existing agreements are numbered in the order they were made, per tenant and year
(issue 25 item 7); the counters (document_counters, kind "AC") continue from there.

Revision ID: 0121_agreement_numbers
Revises: 0140_agreement_reimports
Create Date: 2026-12-04 19:46:22.998693
"""

from __future__ import annotations

import uuid
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0121_agreement_numbers"
down_revision = "0140_agreement_reimports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.String(length=20), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_agreements_tenant_id_number"), ["tenant_id", "number"]
        )

    _number_existing_agreements()


def _number_existing_agreements() -> None:
    agreements = sa.table(
        "agreements",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("created_at", core.db.UTCDateTime(timezone=True)),
        sa.column("number", sa.String()),
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
        sa.select(agreements.c.id, agreements.c.tenant_id, agreements.c.created_at).order_by(
            agreements.c.tenant_id, agreements.c.created_at, agreements.c.id
        )
    ).all()
    zone = ZoneInfo("America/Sao_Paulo")
    last: dict[tuple[uuid.UUID, int], int] = {}
    for agreement_id, tenant_id, created_at in rows:
        when = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        year = when.astimezone(zone).year
        number = last.get((tenant_id, year), 0) + 1
        last[(tenant_id, year)] = number
        bind.execute(
            sa.update(agreements)
            .where(agreements.c.id == agreement_id)
            .values(number=f"AC-{year}-{number:06d}")
        )
    if last:
        op.bulk_insert(
            counters,
            [
                {"id": uuid.uuid4(), "tenant_id": t, "kind": "AC", "year": y, "last": n}
                for (t, y), n in last.items()
            ],
        )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM document_counters WHERE kind = 'AC'"))
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_agreements_tenant_id_number"), type_="unique")
        batch_op.drop_column("number")
