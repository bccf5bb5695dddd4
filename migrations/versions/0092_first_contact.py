"""the régua's "primeiro contato" step for debts that enter already late

Revision ID: 0092_first_contact
Revises: 0100_updated_at
Create Date: 2026-12-04 19:35:00

Every creditor gets the step. A régua already switched on gets it paused (nothing new
goes out in the creditor's name until someone there turns it on); a régua still off
gets it active, to be reviewed with the rest before switching on.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0092_first_contact"
down_revision = "0100_updated_at"
branch_labels = None
depends_on = None

NAME = "Primeiro contato"
SUBJECT = "{credor}: contrato {contrato} em aberto"
BODY = (
    "Olá, {nome}. {credor} nos pediu para falar com você sobre o contrato {contrato}, "
    "vencido em {vencimento}, no valor atualizado de {valor}. Se já pagou, desconsidere. "
    "Veja os detalhes e as condições para quitar, à vista ou parcelado, em {link}."
)


def upgrade() -> None:
    bind = op.get_bind()
    tenants = sa.table("tenants", sa.column("id", sa.Uuid()), sa.column("reminders_enabled"))
    steps = sa.table(
        "reminder_steps",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("created_at", core.db.UTCDateTime(timezone=True)),
        sa.column("name", sa.String()),
        sa.column("anchor", sa.String()),
        sa.column("offset_days", sa.Integer()),
        sa.column("channel", sa.String()),
        sa.column("subject", sa.String()),
        sa.column("body", sa.String()),
        sa.column("is_active", sa.Boolean()),
    )
    having = set(
        bind.execute(sa.select(steps.c.tenant_id).where(steps.c.anchor == "debt_entered"))
        .scalars()
        .all()
    )
    now = datetime.now(UTC)
    rows = [
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "created_at": now,
            "name": NAME,
            "anchor": "debt_entered",
            "offset_days": 0,
            "channel": "email",
            "subject": SUBJECT,
            "body": BODY,
            "is_active": not enabled,
        }
        for tenant_id, enabled in bind.execute(sa.select(tenants.c.id, tenants.c.reminders_enabled))
        if tenant_id not in having
    ]
    if rows:
        op.bulk_insert(steps, rows)


def downgrade() -> None:
    op.execute(
        "DELETE FROM messages WHERE step_id IN "
        "(SELECT id FROM reminder_steps WHERE anchor = 'debt_entered')"
    )
    op.execute("DELETE FROM reminder_steps WHERE anchor = 'debt_entered'")
