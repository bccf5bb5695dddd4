"""debtor sessions and tenant policy

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 02:12:28.618155
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "debtor_attempts",
        sa.Column("cpf_hash", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debtor_attempts")),
    )
    with op.batch_alter_table("debtor_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_debtor_attempts_cpf_at", ["cpf_hash", "at"], unique=False)
        batch_op.create_index("ix_debtor_attempts_ip_at", ["ip", "at"], unique=False)

    op.create_table(
        "debtor_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("cpf_hash", sa.String(length=64), nullable=False),
        sa.Column("verified_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debtor_sessions")),
    )
    with op.batch_alter_table("debtor_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_debtor_sessions_cpf_hash"), ["cpf_hash"], unique=False)

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy_toml", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("policy_toml")

    with op.batch_alter_table("debtor_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_debtor_sessions_cpf_hash"))

    op.drop_table("debtor_sessions")
    with op.batch_alter_table("debtor_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_debtor_attempts_ip_at")
        batch_op.drop_index("ix_debtor_attempts_cpf_at")

    op.drop_table("debtor_attempts")
