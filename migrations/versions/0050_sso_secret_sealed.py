"""the SSO client secret is kept sealed (core.secrets_box): wider column, plaintext sealed

Revision ID: 0050_sso_secret_sealed
Revises: 0020_staff_auth
Create Date: 2026-12-04 18:45:00
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from core.secrets_box import SecretsBox, is_sealed

revision = "0050_sso_secret_sealed"
down_revision = "0020_staff_auth"
branch_labels = None
depends_on = None

_providers = sa.table(
    "identity_providers", sa.column("id", sa.Uuid()), sa.column("client_secret", sa.String())
)


def _system_scope() -> None:
    # identity_providers is under FORCE ROW LEVEL SECURITY on PostgreSQL.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT set_config('quita.scope', 'system', true)")


def _rewrite(change: Callable[[str], str]) -> None:
    bind = op.get_bind()
    for row_id, secret in bind.execute(sa.select(_providers.c.id, _providers.c.client_secret)):
        new = change(secret)
        if new != secret:
            bind.execute(
                _providers.update().where(_providers.c.id == row_id).values(client_secret=new)
            )


def upgrade() -> None:
    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.alter_column(
            "client_secret",
            existing_type=sa.String(length=300),
            type_=sa.String(length=2000),
            existing_nullable=False,
        )
    _system_scope()
    # The key comes from QUITA_SECRETS_KEY, as for the app (refused empty in production).
    box = SecretsBox.from_env()
    _rewrite(lambda secret: secret if is_sealed(secret) else box.seal(secret))


def downgrade() -> None:
    _system_scope()
    box = SecretsBox.from_env()
    _rewrite(lambda secret: box.open(secret) if is_sealed(secret) else secret)
    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.alter_column(
            "client_secret",
            existing_type=sa.String(length=2000),
            type_=sa.String(length=300),
            existing_nullable=False,
        )
