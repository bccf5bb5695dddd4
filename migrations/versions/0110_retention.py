"""a retention period per creditor, and when a person's data was anonymised

Revision ID: 0110_retention
Revises: 0091_whatsapp_templates
Create Date: 2026-12-04 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0110_retention"
down_revision = "0091_whatsapp_templates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column("retention_years", sa.Integer(), nullable=False, server_default="5")
        )
    with op.batch_alter_table("debtors") as batch:
        batch.add_column(
            sa.Column("anonymised_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("debtors") as batch:
        batch.drop_column("anonymised_at")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("retention_years")
