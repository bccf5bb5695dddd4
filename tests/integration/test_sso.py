"""Staff sign-in with the tenant's OpenID Connect provider, against a local provider on
loopback built with Authlib and joserfc (tests/oidc_provider.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import select

from core.db import Scope
from core.secrets_box import SecretsBox
from tenants.models import AuditEvent, IdentityProvider, Tenant, TenantMembership, User
from tenants.roles import Role
from tenants.services.directory import add_tenant_member, ensure_user
from tests.conftest import csrf, csrf_from, login
from tests.factories import PASSWORD
from tests.oidc_provider import LocalProvider, ProviderServer

SESSION_COOKIE = "quita_staff"
BOX = SecretsBox.from_value("")  # the test app runs with the development key


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalProvider]:
    server = ProviderServer()
    provider = server.start()
    yield provider
    server.stop()


def _domain() -> str:
    return f"sso-{uuid.uuid4().hex[:10]}.example"


async def _configure(
    db, tenant_id: uuid.UUID, idp: LocalProvider, domain: str, role: Role = Role.ANALYST
) -> str:
    """Give the tenant a provider (the local one) for ``domain``; the client id."""
    client_id = "quita-" + uuid.uuid4().hex[:12]
    idp.clients[client_id] = "secret-" + client_id
    async with db.session(Scope.tenant(tenant_id)) as session:
        session.add(
            IdentityProvider(
                issuer=idp.issuer,
                client_id=client_id,
                client_secret=BOX.seal("secret-" + client_id),
                email_domain=domain,
                default_role=role,
                is_active=True,
                domain_token="t-" + client_id,
                domain_verified_at=datetime.now(UTC),  # proven (tests/security/test_sso_domains.py)
                domain_verified_by="dns",
            )
        )
        await session.commit()
    return client_id


async def _to_provider(client, email: str) -> str:
    """Ask to sign in with the company account; the provider's authorization URL."""
    token = await csrf(client, "/portal/sso/entrar")
    started = await client.post("/portal/sso/entrar", data={"email": email, "_csrf_token": token})
    assert started.status_code == 302, started.text[-800:]
    url = str(started.headers["location"])
    assert url.startswith("http://127.0.0.1:")
    return url


async def _back_from_provider(url: str) -> str:
    """What the browser does at the provider: the automatic sign-in, then the redirect
    back to Quita; the callback path with its query."""
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        answer = await browser.get(url)
    assert answer.status_code == 302, answer.text
    back = str(answer.headers["location"])
    assert back.startswith("https://testserver.local/portal/sso/retorno?")
    return back.removeprefix("https://testserver.local")


async def _sign_in(client, idp: LocalProvider, email: str, **claims: Any):
    url = await _to_provider(client, email)
    if claims:
        idp.overrides = claims
    try:
        return await client.get(await _back_from_provider(url))
    finally:
        idp.overrides = {}


async def _audit(db, tenant_id: uuid.UUID, action: str) -> list[AuditEvent]:
    async with db.session(Scope.tenant(tenant_id)) as session:
        rows = await session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return list(rows.all())


async def _member(db, tenant_id: uuid.UUID, email: str, role: Role) -> uuid.UUID:
    async with db.session(Scope.system()) as session:
        user = await ensure_user(session, email=email, name="Ana Lima")
        tenant = await session.get_one(Tenant, tenant_id)
        await session.flush()
        add_tenant_member(session, tenant, user, role)
        await session.commit()
        return user.id


async def test_a_member_of_the_providers_domain_signs_in_and_lands_on_home_in_the_tenant(
    client, world, db, idp
):
    domain = _domain()
    await _configure(db, world.a.id, idp, domain)
    email = f"ana@{domain}"
    await _member(db, world.a.id, email, Role.ADMIN)
    idp.sign_in_as(email)
    done = await _sign_in(client, idp, email)
    assert done.status_code == 303 and done.headers["location"] == "/portal/home"
    assert client.cookies.get(SESSION_COOKIE)
    home = await client.get("/portal/home")
    assert home.status_code == 200 and world.a.tenant.name in home.text
    # Signed in with the role the person already had, not the provider's default.
    assert (await client.get("/portal/sso/configuracao")).status_code == 200
    (event,) = await _audit(db, world.a.id, "login.sso_succeeded")
    assert event.details["via"] == "oidc"


async def test_a_new_person_of_the_domain_is_provisioned_with_the_default_role(
    client, world, db, idp
):
    domain = _domain()
    await _configure(db, world.a.id, idp, domain, role=Role.VIEWER)
    email = f"novo.colega@{domain}"
    idp.sign_in_as(email, name="Novo Colega")
    done = await _sign_in(client, idp, email.upper())  # the domain is found in any case
    assert done.status_code == 303
    async with db.session(Scope.system()) as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None and user.password_hash is None and user.name == "Novo Colega"
        memberships = list(
            await session.scalars(
                select(TenantMembership).where(TenantMembership.user_id == user.id)
            )
        )
    assert [(m.tenant_id, m.role) for m in memberships] == [(world.a.id, Role.VIEWER)]
    assert (await client.get("/portal/home")).status_code == 200
    assert (await client.get("/portal/sso/configuracao")).status_code == 403
    assert await _audit(db, world.a.id, "user.provisioned_sso")


async def test_an_email_outside_the_domain_or_not_verified_is_refused(client, world, db, idp):
    domain = _domain()
    await _configure(db, world.a.id, idp, domain)
    idp.sign_in_as("intruso@other.example")
    refused = await _sign_in(client, idp, f"ana@{domain}")
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert not client.cookies.get(SESSION_COOKIE)
    idp.sign_in_as(f"ana@{domain}", verified=False)
    unverified = await _sign_in(client, idp, f"ana@{domain}")
    assert unverified.status_code == 400 and not client.cookies.get(SESSION_COOKIE)
    reasons = [e.details["reason"] for e in await _audit(db, world.a.id, "login.sso_failed")]
    assert sorted(reasons) == ["domain", "email"]
    async with db.session(Scope.system()) as session:
        assert await session.scalar(select(User).where(User.email == f"ana@{domain}")) is None


async def test_an_unknown_domain_is_told_to_use_a_password(client, world):
    token = await csrf(client, "/portal/sso/entrar")
    answer = await client.post(
        "/portal/sso/entrar", data={"email": f"x@{_domain()}", "_csrf_token": token}
    )
    assert answer.status_code == 400 and 'id="e-email"' in answer.text


async def test_a_bad_state_or_a_replayed_state_is_refused(client, world, db, idp):
    domain = _domain()
    await _configure(db, world.a.id, idp, domain)
    email = f"ana@{domain}"
    await _member(db, world.a.id, email, Role.ANALYST)
    bad = await client.get("/portal/sso/retorno?state=forged&code=whatever")
    assert bad.status_code == 400 and not client.cookies.get(SESSION_COOKIE)
    idp.sign_in_as(email)
    url = await _to_provider(client, email)
    callback = await _back_from_provider(url)
    state_cookie = client.cookies.get("quita_sso")
    first = await client.get(callback)
    assert first.status_code == 303
    # The same answer again, even from the browser that asked: the state works once.
    client.cookies.clear()
    client.cookies.set("quita_sso", state_cookie or "", domain="testserver.local")
    replay = await client.get(callback)
    assert replay.status_code == 400 and not client.cookies.get(SESSION_COOKIE)
    # An answer meant for another browser (no state cookie here) is refused too.
    url = await _to_provider(client, email)
    callback = await _back_from_provider(url)
    client.cookies.clear()
    elsewhere = await client.get(callback)
    assert elsewhere.status_code == 400 and not client.cookies.get(SESSION_COOKIE)
    reasons = [e.details["reason"] for e in await _audit(db, world.a.id, "login.sso_failed")]
    assert "state" in reasons


@pytest.mark.parametrize(
    "claims",
    [
        {"nonce": "not-the-one-sent"},
        {"aud": "another-client"},
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
        {"iss": "https://impostor.example"},
    ],
    ids=["nonce", "audience", "expired", "issuer"],
)
async def test_an_id_token_with_a_wrong_nonce_audience_issuer_or_expiry_is_refused(
    client, world, db, idp, claims
):
    domain = _domain()
    await _configure(db, world.a.id, idp, domain)
    email = f"ana@{domain}"
    await _member(db, world.a.id, email, Role.ANALYST)
    idp.sign_in_as(email)
    refused = await _sign_in(client, idp, email, **claims)
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert not client.cookies.get(SESSION_COOKIE)
    (event,) = await _audit(db, world.a.id, "login.sso_failed")
    assert event.details["reason"] == "token"


async def test_an_account_that_also_works_for_another_creditor_must_use_its_password(
    client, world, db, idp
):
    domain = _domain()
    await _configure(db, world.a.id, idp, domain)
    email = f"consultora@{domain}"
    user_id = await _member(db, world.b.id, email, Role.OWNER)
    idp.sign_in_as(email)
    refused = await _sign_in(client, idp, email)
    assert refused.status_code == 400 and not client.cookies.get(SESSION_COOKIE)
    async with db.session(Scope.system()) as session:
        memberships = await session.scalars(
            select(TenantMembership.tenant_id).where(TenantMembership.user_id == user_id)
        )
        assert list(memberships) == [world.b.id]  # nothing granted at A


async def test_a_person_with_totp_is_still_asked_for_the_code(client, world, db, idp):
    domain = _domain()
    await _configure(db, world.a.id, idp, domain)
    email = f"cuidadosa@{domain}"
    user_id = await _member(db, world.a.id, email, Role.ANALYST)
    async with db.session(Scope.system()) as session:
        (await session.get_one(User, user_id)).totp_secret = pyotp.random_base32()
        await session.commit()
    idp.sign_in_as(email)
    done = await _sign_in(client, idp, email)
    assert done.status_code == 303 and done.headers["location"].startswith("/portal/login/totp")
    assert (await client.get("/portal/home")).status_code in (302, 303, 401)


async def test_sso_settings_are_for_owners_and_admins_and_never_make_owners(client, world, db, idp):
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    assert (await client.get("/portal/sso/configuracao")).status_code == 403
    client.cookies.clear()
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    page = await client.get("/portal/sso/configuracao")
    assert page.status_code == 200
    domain = _domain()
    form = {
        "issuer": idp.issuer + "/",
        "client_id": "quita-portal",
        "client_secret": "s3cret",
        "email_domain": "@" + domain.upper(),
        "default_role": "owner",
        "is_active": "on",
        "_csrf_token": csrf_from(page.text),
    }
    owner = await client.post("/portal/sso/configuracao", data=form)
    assert owner.status_code == 400 and 'id="e-default_role"' in owner.text
    insecure = await client.post(
        "/portal/sso/configuracao",
        data={**form, "default_role": "analyst", "issuer": "http://idp.example.com"},
    )
    assert insecure.status_code == 400 and 'id="e-issuer"' in insecure.text
    saved = await client.post("/portal/sso/configuracao", data={**form, "default_role": "analyst"})
    assert saved.status_code == 200, saved.text[-800:]
    assert "s3cret" not in saved.text
    async with db.session(Scope.tenant(world.a.id)) as session:
        provider = await session.scalar(select(IdentityProvider))
        assert provider is not None
        assert (provider.issuer, provider.email_domain, provider.default_role) == (
            idp.issuer,
            domain,
            Role.ANALYST,
        )
    assert await _audit(db, world.a.id, "sso.provider_saved")
    # Once A proved control of the domain, another creditor cannot claim it.
    async with db.session(Scope.tenant(world.a.id)) as session:
        provider = await session.scalar(select(IdentityProvider))
        assert provider is not None and provider.domain_verified_at is None
        provider.domain_verified_at = datetime.now(UTC)
        await session.commit()
    client.cookies.clear()
    await login(client, world.b.users[Role.ADMIN], PASSWORD)
    page = await client.get("/portal/sso/configuracao")
    taken = await client.post(
        "/portal/sso/configuracao",
        data={**form, "default_role": "viewer", "_csrf_token": csrf_from(page.text)},
    )
    assert taken.status_code == 400 and 'id="e-email_domain"' in taken.text
