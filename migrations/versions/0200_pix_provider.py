"""the creditor's Pix provider (Stripe or a Pix PSP) and its Pix key at the PSP

Revision ID: 0200_pix_provider
Revises: 0121_agreement_numbers
Create Date: 2026-12-04 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0200_pix_provider"
down_revision = "0121_agreement_numbers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pix_provider", sa.String(20), nullable=False, server_default="stripe")
        )
        batch_op.add_column(sa.Column("pix_key", sa.String(77), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("pix_key")
        batch_op.drop_column("pix_provider")
