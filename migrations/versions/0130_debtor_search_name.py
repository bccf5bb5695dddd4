"""debtors.search_name: the name folded for the accounts search (no accents, lower case),
backfilled, with a (tenant, search_name) index and, on PostgreSQL, a trigram index

Revision ID: 0130_debtor_search_name
Revises: 0070_early_payoff
Create Date: 2026-12-04 19:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.text import search_key

revision = "0130_debtor_search_name"
down_revision = "0070_early_payoff"
branch_labels = None
depends_on = None

_debtors = sa.table(
    "debtors",
    sa.column("id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("search_name", sa.String()),
)
BATCH = 2_000


def _backfill() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # debtors is under FORCE ROW LEVEL SECURITY.
        op.execute("SELECT set_config('quita.scope', 'system', true)")
    rows = bind.execute(sa.select(_debtors.c.id, _debtors.c.name)).all()
    update = (
        _debtors.update()
        .where(_debtors.c.id == sa.bindparam("row_id"))
        .values(search_name=sa.bindparam("folded"))
    )
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        bind.execute(update, [{"row_id": r.id, "folded": search_key(r.name)[:200]} for r in batch])


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("debtors", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("search_name", sa.String(length=200), server_default="", nullable=False)
        )
    _backfill()
    op.create_index("ix_debtors_tenant_search_name", "debtors", ["tenant_id", "search_name"])
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_debtors_search_name_trgm",
        "debtors",
        ["search_name"],
        postgresql_using="gin",
        postgresql_ops={"search_name": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_debtors_search_name_trgm", table_name="debtors")
    op.drop_index("ix_debtors_tenant_search_name", table_name="debtors")
    with op.batch_alter_table("debtors", schema=None) as batch_op:
        batch_op.drop_column("search_name")
