"""updated_at on debts, agreements and payments, for incremental sync through the API

Revision ID: 0100_updated_at
Revises: 0111_webhook_secret_sealed
Create Date: 2026-12-04 19:40:00

Existing rows start with ``updated_at = created_at`` (the backfill), then the column is
made NOT NULL and indexed (tenant_id, updated_at, id): the order of the API's
``updated_since`` listings.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = "0100_updated_at"
down_revision = "0111_webhook_secret_sealed"
branch_labels = None
depends_on = None

TABLES = ("debts", "agreements", "payments")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("updated_at", UTCDateTime(timezone=True), nullable=True))
        op.execute(f"UPDATE {table} SET updated_at = created_at")  # noqa: S608 (constant names)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "updated_at", existing_type=UTCDateTime(timezone=True), nullable=False
            )
            batch_op.create_index(
                f"ix_{table}_tenant_updated", ["tenant_id", "updated_at", "id"], unique=False
            )


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_tenant_updated")
            batch_op.drop_column("updated_at")
