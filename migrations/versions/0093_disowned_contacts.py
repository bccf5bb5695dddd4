"""contacts a person disowned, kept apart from any creditor so later imports honour them

Revision ID: 0093_disowned_contacts
Revises: 0120_dispute_protocols
Create Date: 2026-12-04 19:50:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0093_disowned_contacts"
down_revision = "0120_dispute_protocols"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disowned_contacts",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=254), nullable=False),
        sa.Column("reported_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disowned_contacts")),
        sa.UniqueConstraint("kind", "value", name=op.f("uq_disowned_contacts_kind_value")),
    )
    # The reports made so far: every contact already marked "not mine".
    bind = op.get_bind()
    contacts = sa.table(
        "contacts",
        sa.column("kind", sa.String()),
        sa.column("value", sa.String()),
        sa.column("not_mine_at", core.db.UTCDateTime(timezone=True)),
    )
    rows = bind.execute(
        sa.select(contacts.c.kind, contacts.c.value, sa.func.min(contacts.c.not_mine_at))
        .where(contacts.c.not_mine_at.is_not(None))
        .group_by(contacts.c.kind, contacts.c.value)
    ).all()
    if rows:
        table = sa.table(
            "disowned_contacts",
            sa.column("id", sa.Uuid()),
            sa.column("kind", sa.String()),
            sa.column("value", sa.String()),
            sa.column("reported_at", core.db.UTCDateTime(timezone=True)),
        )
        op.bulk_insert(
            table,
            [
                {"id": uuid.uuid4(), "kind": kind, "value": value, "reported_at": at}
                for kind, value, at in rows
            ],
        )


def downgrade() -> None:
    op.drop_table("disowned_contacts")
