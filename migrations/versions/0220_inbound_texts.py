"""the inbox of incoming texts and the receipts of sent ones

Revision ID: 0220_inbound_texts
Revises: 0201_due_charges
Create Date: 2026-12-04 22:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0220_inbound_texts"
down_revision = "0201_due_charges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_texts",
        sa.Column("provider", sa.String(length=10), nullable=False),
        sa.Column("provider_message_id", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("sender", sa.String(length=20), nullable=False),
        sa.Column("body", sa.String(length=1600), nullable=False),
        sa.Column("received_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_texts")),
        sa.UniqueConstraint(
            "provider",
            "provider_message_id",
            name=op.f("uq_inbound_texts_provider_provider_message_id"),
        ),
    )
    with op.batch_alter_table("inbound_texts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_texts_processed_at"), ["processed_at"], unique=False
        )
    op.create_table(
        "text_receipts",
        sa.Column("provider", sa.String(length=10), nullable=False),
        sa.Column("provider_message_id", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error_code", sa.String(length=20), nullable=False),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_receipts")),
        sa.UniqueConstraint(
            "provider",
            "provider_message_id",
            "status",
            name=op.f("uq_text_receipts_provider_provider_message_id_status"),
        ),
    )
    with op.batch_alter_table("text_receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_text_receipts_provider_message_id"),
            ["provider_message_id"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("text_receipts")
    op.drop_table("inbound_texts")
