"""debtor-site throttles: failures per path, code requests per CPF, contact, address; codes per CPF

Revision ID: 0040_debtor_throttle
Revises: 0080_policy_versions
Create Date: 2026-12-04 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0040_debtor_throttle"
down_revision = "0080_policy_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("debtor_attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="birth_date")
        )
    with op.batch_alter_table("debtor_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cpf_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("contact_key", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_debtor_codes_contact_key"), ["contact_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_debtor_codes_cpf_hash"), ["cpf_hash"], unique=False)
    op.create_table(
        "debtor_code_sends",
        sa.Column("cpf_hash", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debtor_code_sends")),
    )
    with op.batch_alter_table("debtor_code_sends", schema=None) as batch_op:
        batch_op.create_index("ix_debtor_code_sends_cpf_at", ["cpf_hash", "at"], unique=False)
        batch_op.create_index("ix_debtor_code_sends_ip_at", ["ip", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("debtor_code_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_debtor_code_sends_ip_at")
        batch_op.drop_index("ix_debtor_code_sends_cpf_at")
    op.drop_table("debtor_code_sends")
    with op.batch_alter_table("debtor_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_debtor_codes_cpf_hash"))
        batch_op.drop_index(batch_op.f("ix_debtor_codes_contact_key"))
        batch_op.drop_column("created_at")
        batch_op.drop_column("contact_key")
        batch_op.drop_column("cpf_hash")
    with op.batch_alter_table("debtor_attempts", schema=None) as batch_op:
        batch_op.drop_column("kind")
