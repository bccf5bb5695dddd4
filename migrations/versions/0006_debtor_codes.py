"""debtor codes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 02:24:38.418315
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "debtor_codes",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debtor_codes")),
    )
    with op.batch_alter_table("debtor_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_debtor_codes_session_id"), ["session_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("debtor_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_debtor_codes_session_id"))

    op.drop_table("debtor_codes")
