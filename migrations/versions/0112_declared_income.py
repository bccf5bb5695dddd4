"""the monthly income a person told when accepting an agreement (mínimo existencial)

Revision ID: 0112_declared_income
Revises: 0093_disowned_contacts
Create Date: 2026-12-04 19:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0112_declared_income"
down_revision = "0093_disowned_contacts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("declared_income", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("declared_income")
