"""WhatsApp: the approved template of each régua step and the window the person opened

Revision ID: 0091_whatsapp_templates
Revises: 0040_debtor_throttle
Create Date: 2026-12-04 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0091_whatsapp_templates"
down_revision = "0040_debtor_throttle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_steps", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("whatsapp_template", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column(
                "template_variables", sa.String(length=200), nullable=False, server_default=""
            )
        )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("whatsapp_window_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("whatsapp_window_at")
    with op.batch_alter_table("reminder_steps", schema=None) as batch_op:
        batch_op.drop_column("template_variables")
        batch_op.drop_column("whatsapp_template")
