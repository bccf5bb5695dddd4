"""API clients in the portal: owners and admins create (secret shown once) and revoke."""

from __future__ import annotations

import re

from sqlalchemy import select

from core.db import Scope
from core.security import token_digest
from tenants.models import ApiClient, AuditEvent
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD

TOKEN_URL = "/api/v1/oauth/token"


async def _create(client, name: str, scopes: list[str]):
    page = await client.get("/portal/api")
    assert page.status_code == 200
    return await client.post(
        "/portal/api",
        data={"name": name, "scopes": scopes, "_csrf_token": csrf_from(page.text)},
    )


async def test_owner_creates_a_client_sees_the_secret_once_and_revokes_it(client, world, db):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    created = await _create(client, "ERP financeiro", ["debts:read", "policy:read"])
    assert created.status_code == 200, created.text[:500]
    id_match = re.search(r"<dt>client_id</dt><dd><code>([^<]+)</code>", created.text)
    secret_match = re.search(r"<dt>client_secret</dt><dd><code>([^<]+)</code>", created.text)
    assert id_match and secret_match, created.text[-2000:]
    client_id, secret = id_match.group(1), secret_match.group(1)
    async with db.session(Scope.tenant(world.a.id)) as session:
        row = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
        assert row is not None and row.scopes == "debts:read policy:read"
        assert row.secret_hash == token_digest(secret) and secret not in row.secret_hash
    listing = await client.get("/portal/api")
    assert client_id in listing.text and secret not in listing.text  # shown once only
    token = await client.post(
        TOKEN_URL, data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert token.status_code == 200
    access = token.json()["access_token"]
    assert (
        await client.get("/api/v1/policy", headers={"Authorization": f"Bearer {access}"})
    ).status_code == 200
    revoked = await client.post(
        f"/portal/api/{row.id}/revoke", data={"_csrf_token": csrf_from(listing.text)}
    )
    assert revoked.status_code == 303
    assert (
        await client.get("/api/v1/policy", headers={"Authorization": f"Bearer {access}"})
    ).status_code == 401
    async with db.session(Scope.tenant(world.a.id)) as session:
        actions = (
            await session.scalars(select(AuditEvent.action).where(AuditEvent.target == client_id))
        ).all()
        assert set(actions) == {"api_client.created", "api_client.revoked"}


async def test_admin_may_manage_clients(client, world):
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    assert (await client.get("/portal/api")).status_code == 200


async def test_analyst_gets_403(client, world):
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    assert (await client.get("/portal/api")).status_code == 403
    assert (await client.post("/portal/api", data={"name": "x"})).status_code == 403


async def test_a_client_needs_a_name_and_a_scope(client, world, db):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    refused = await _create(client, "  ", [])
    assert refused.status_code == 400
    assert 'id="e-name"' in refused.text
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert (await session.scalars(select(ApiClient))).all() == []


async def test_another_tenants_client_cannot_be_revoked(client, world, db):
    from tenants.services import api_clients

    async with db.session(Scope.tenant(world.b.id)) as session:
        other = await api_clients.create_client(
            session, name="B", scopes=["debts:read"], created_by=None
        )
        await session.commit()
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    page = await client.get("/portal/api")
    response = await client.post(
        f"/portal/api/{other.client.id}/revoke", data={"_csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 404
    async with db.session(Scope.tenant(world.b.id)) as session:
        row = await session.get_one(ApiClient, other.client.id)
        assert row.revoked_at is None


async def test_the_sweeper_purges_expired_api_tokens_and_unfinished_sso_logins(db, world, settings):
    import uuid
    from datetime import UTC, datetime, timedelta

    from core.clock import SystemClock
    from tenants.models import ApiToken, IdentityProvider, OidcLogin
    from tenants.services.auth import AuthService

    now = datetime.now(UTC)
    client_id, provider_id = uuid.uuid4(), uuid.uuid4()
    async with db.session(Scope.tenant(world.a.id)) as session:
        session.add(
            ApiClient(
                id=client_id,
                tenant_id=world.a.id,
                name="Purga",
                client_id=f"purge-{client_id.hex[:12]}",
                secret_hash="x",
                scopes="debts:read",
            )
        )
        session.add(
            IdentityProvider(
                id=provider_id,
                tenant_id=world.a.id,
                issuer="https://idp.example.test",
                client_id="quita",
                client_secret="s",
                email_domain=f"{client_id.hex[:8]}.example.test",
                default_role=Role.VIEWER,
            )
        )
        await session.commit()
    stale, live = f"{uuid.uuid4().hex}{'0' * 32}", f"{uuid.uuid4().hex}{'1' * 32}"
    async with db.session(Scope.system()) as session:
        for token_id, expires in (
            (stale, now - timedelta(days=2)),
            (live, now + timedelta(minutes=5)),
        ):
            session.add(
                ApiToken(
                    id=token_id,
                    client_id=client_id,
                    tenant_id=world.a.id,
                    scopes="debts:read",
                    issued_at=now - timedelta(days=3),
                    expires_at=expires,
                )
            )
        session.add(
            OidcLogin(
                id=stale,
                provider_id=provider_id,
                nonce="n",
                code_verifier="v",
                expires_at=now - timedelta(minutes=1),
            )
        )
        await session.commit()
    auth = AuthService(db, settings.security, SystemClock(), settings.base_url)
    await auth.purge_expired(now)
    async with db.session(Scope.system()) as session:
        tokens = set(
            await session.scalars(select(ApiToken.id).where(ApiToken.client_id == client_id))
        )
        logins = await session.get(OidcLogin, stale)
    assert tokens == {live}
    assert logins is None
