"""SSO e-mail domains need proof of control: token, when and how proven, one tenant each

Revision ID: 0051_sso_domain_proof
Revises: 0090_channel_opt_outs
Create Date: 2026-12-04 19:00:00

Providers saved before this have their domain unproven: they route nobody until their
tenant publishes the TXT record or confirms by e-mail (a squatted domain must not stay).
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0051_sso_domain_proof"
down_revision = "0090_channel_opt_outs"
branch_labels = None
depends_on = None

_providers = sa.table(
    "identity_providers", sa.column("id", sa.Uuid()), sa.column("domain_token", sa.String())
)


def upgrade() -> None:
    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("domain_token", sa.String(length=40), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("domain_verified_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("domain_verified_by", sa.String(length=10), nullable=False, server_default="")
        )
        batch_op.create_index(
            "ux_identity_providers_proven_domain",
            ["email_domain"],
            unique=True,
            postgresql_where=sa.text("domain_verified_at IS NOT NULL"),
            sqlite_where=sa.text("domain_verified_at IS NOT NULL"),
        )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # identity_providers is under FORCE RLS
        op.execute("SELECT set_config('quita.scope', 'system', true)")
    for (row_id,) in bind.execute(sa.select(_providers.c.id)).all():
        bind.execute(
            _providers.update()
            .where(_providers.c.id == row_id)
            .values(domain_token=secrets.token_urlsafe(18))
        )


def downgrade() -> None:
    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_identity_providers_proven_domain",
            postgresql_where=sa.text("domain_verified_at IS NOT NULL"),
            sqlite_where=sa.text("domain_verified_at IS NOT NULL"),
        )
        batch_op.drop_column("domain_verified_by")
        batch_op.drop_column("domain_verified_at")
        batch_op.drop_column("domain_token")
