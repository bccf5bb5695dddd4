"""debtor code requests numbered per CPF and channel, unique: racing requests send once

Revision ID: 0041_debtor_send_seq
Revises: 0052_tenant_invitations
Create Date: 2026-12-04 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0041_debtor_send_seq"
down_revision = "0052_tenant_invitations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows are only throttle counters of the last day: forgetting them (so the numbering
    # can start clean) only lets one more code through per CPF.
    op.execute("DELETE FROM debtor_code_sends")
    with op.batch_alter_table("debtor_code_sends", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_unique_constraint(
            batch_op.f("uq_debtor_code_sends_cpf_hash_channel_seq"), ["cpf_hash", "channel", "seq"]
        )


def downgrade() -> None:
    with op.batch_alter_table("debtor_code_sends", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_debtor_code_sends_cpf_hash_channel_seq"), type_="unique"
        )
        batch_op.drop_column("seq")
