"""outbound-webhook secrets kept sealed (core.secrets_box): wider column, plaintext sealed

Revision ID: 0111_webhook_secret_sealed
Revises: 0041_debtor_send_seq
Create Date: 2026-12-04 19:50:00
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from core.secrets_box import SecretsBox, is_sealed

revision = "0111_webhook_secret_sealed"
down_revision = "0041_debtor_send_seq"
branch_labels = None
depends_on = None

_endpoints = sa.table(
    "webhook_endpoints", sa.column("id", sa.Uuid()), sa.column("secret", sa.String())
)


def _system_scope() -> None:
    # webhook_endpoints is under FORCE ROW LEVEL SECURITY on PostgreSQL.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT set_config('quita.scope', 'system', true)")


def _rewrite(change: Callable[[str], str]) -> None:
    bind = op.get_bind()
    for row_id, secret in bind.execute(sa.select(_endpoints.c.id, _endpoints.c.secret)):
        new = change(secret)
        if new != secret:
            bind.execute(_endpoints.update().where(_endpoints.c.id == row_id).values(secret=new))


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.alter_column(
            "secret",
            existing_type=sa.String(length=100),
            type_=sa.String(length=500),
            existing_nullable=False,
        )
    _system_scope()
    box = SecretsBox.from_env()  # QUITA_SECRETS_KEY, as for the app
    _rewrite(lambda secret: secret if is_sealed(secret) else box.seal(secret))


def downgrade() -> None:
    _system_scope()
    box = SecretsBox.from_env()
    _rewrite(lambda secret: box.open(secret) if is_sealed(secret) else secret)
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.alter_column(
            "secret",
            existing_type=sa.String(length=500),
            type_=sa.String(length=100),
            existing_nullable=False,
        )
