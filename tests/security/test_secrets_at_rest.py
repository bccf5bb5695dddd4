"""Secrets kept at rest are sealed with the environment's key (issue 26 item 13): the
tenant's SSO client secret never sits in the database in clear."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core.db import Scope
from core.secrets_box import SecretsBox, SecretUnreadable, is_sealed
from quita import migrate
from tenants.models import AuditEvent, IdentityProvider
from tenants.roles import Role
from tests.conftest import csrf, csrf_from, login
from tests.factories import PASSWORD
from tests.oidc_provider import ProviderServer


async def test_the_sso_client_secret_saved_in_the_portal_is_stored_sealed(client, world, db, app):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    page = await client.get("/portal/sso/configuracao")
    domain = f"sealed-{uuid.uuid4().hex[:8]}.example"
    saved = await client.post(
        "/portal/sso/configuracao",
        data={
            "issuer": "https://idp.example.com",
            "client_id": "quita-portal",
            "client_secret": "s3cret-do-cliente",
            "email_domain": domain,
            "default_role": "viewer",
            "is_active": "on",
            "_csrf_token": csrf_from(page.text),
        },
    )
    assert saved.status_code == 200, saved.text[-600:]
    async with db.session(Scope.tenant(world.a.id)) as session:
        provider = await session.scalar(select(IdentityProvider))
        assert provider is not None
        stored = provider.client_secret
        events = list(await session.scalars(select(AuditEvent.details)))
    assert is_sealed(stored) and "s3cret" not in stored
    assert app.state.secrets_box.open(stored) == "s3cret-do-cliente"
    assert not any("s3cret" in str(details) for details in events)
    # A copy of the database without the environment's key opens nothing.
    with pytest.raises(SecretUnreadable):
        SecretsBox([SecretsBox.new_key()]).open(stored)


async def test_a_secret_no_configured_key_opens_fails_the_sign_in_cleanly(client, world, db):
    server = ProviderServer()
    idp = server.start()
    try:
        domain = f"rotated-{uuid.uuid4().hex[:8]}.example"
        idp.clients["quita-x"] = "secret-x"
        async with db.session(Scope.tenant(world.a.id)) as session:
            session.add(
                IdentityProvider(
                    issuer=idp.issuer,
                    client_id="quita-x",
                    client_secret=SecretsBox([SecretsBox.new_key()]).seal("secret-x"),
                    email_domain=domain,
                    default_role=Role.VIEWER,
                    is_active=True,
                    domain_token="t",
                    domain_verified_at=datetime.now(UTC),
                )
            )
            await session.commit()
        token = await csrf(client, "/portal/sso/entrar")
        answer = await client.post(
            "/portal/sso/entrar", data={"email": f"ana@{domain}", "_csrf_token": token}
        )
        assert answer.status_code == 502 and 'id="e-email"' in answer.text
    finally:
        server.stop()


def test_the_migration_seals_plaintext_sso_secrets_and_its_downgrade_opens_them(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'seal.db'}"
    migrate.upgrade(url, "0020_staff_auth")
    row = uuid.uuid4().hex
    with sqlite3.connect(tmp_path / "seal.db") as conn:
        conn.execute(
            "INSERT INTO identity_providers (id, tenant_id, issuer, client_id, client_secret, "
            "email_domain, default_role, is_active, created_at) "
            "VALUES (?, ?, 'https://idp.example', 'c', 'plain-secret', 'x.example', "
            "'viewer', 1, '2026-01-01')",
            (row, uuid.uuid4().hex),
        )
    migrate.upgrade(url, "0050_sso_secret_sealed")
    with sqlite3.connect(tmp_path / "seal.db") as conn:
        (stored,) = conn.execute("SELECT client_secret FROM identity_providers").fetchone()
    assert is_sealed(stored) and "plain-secret" not in stored
    assert SecretsBox.from_env({}).open(stored) == "plain-secret"
    migrate.upgrade(url, "0050_sso_secret_sealed")  # idempotent: a sealed value stays
    migrate.downgrade(url, "0020_staff_auth")
    with sqlite3.connect(tmp_path / "seal.db") as conn:
        assert conn.execute("SELECT client_secret FROM identity_providers").fetchone() == (
            "plain-secret",
        )
