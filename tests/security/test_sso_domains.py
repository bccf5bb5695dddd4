"""SSO e-mail domains cannot be squatted (issue 26 item 6): a provider routes nobody
until its tenant proves control of the domain (a DNS TXT record, or a signed link sent
to an administrator address of the domain), and a domain is proven for one tenant only.
The DNS is a fake resolver put on the app: no network."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.clock import FrozenClock
from core.db import Scope
from tenants.models import AuditEvent, IdentityProvider
from tenants.roles import Role
from tenants.services.sso_domains import EMAILS_PER_DAY, TXT_PREFIX
from tests.conftest import csrf, csrf_from, login
from tests.factories import PASSWORD


class FakeDns:
    """TXT records by name; a name in ``broken`` fails the look-up."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.broken: set[str] = set()
        self.asked: list[str] = []

    async def __call__(self, name: str) -> list[str]:
        self.asked.append(name)
        if name in self.broken:
            raise LookupError("SERVFAIL")
        return list(self.records.get(name, []))


@pytest.fixture
def dns(app, monkeypatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(app.state, "txt_resolver", fake)
    return fake


def _domain() -> str:
    return f"empresa-{uuid.uuid4().hex[:10]}.example"


async def _save_provider(client, domain: str, issuer: str = "https://idp.example.com"):
    page = await client.get("/portal/sso/configuracao")
    saved = await client.post(
        "/portal/sso/configuracao",
        data={
            "issuer": issuer,
            "client_id": "quita",
            "client_secret": "s3cret",
            "email_domain": domain,
            "default_role": "viewer",
            "is_active": "on",
            "_csrf_token": csrf_from(page.text),
        },
    )
    assert saved.status_code == 200, saved.text[-600:]
    return saved


async def _provider(db, tenant_id) -> IdentityProvider:
    async with db.session(Scope.tenant(tenant_id)) as session:
        found = await session.scalar(select(IdentityProvider))
        assert found is not None
        return found


async def _routes(client, email: str) -> bool:
    """Does the SSO start page send this e-mail to a provider? (400: no provider)"""
    token = await csrf(client, "/portal/sso/entrar")
    answer = await client.post("/portal/sso/entrar", data={"email": email, "_csrf_token": token})
    return answer.status_code != 400


async def _post(client, path: str, **data: str):
    page = await client.get("/portal/sso/configuracao")
    return await client.post(path, data={**data, "_csrf_token": csrf_from(page.text)})


async def test_an_unproven_domain_routes_no_sign_in_to_the_claimants_provider(
    client, world, db, dns
):
    await login(client, world.b.users[Role.OWNER], PASSWORD)
    domain = _domain()
    page = await _save_provider(client, domain)
    provider = await _provider(db, world.b.id)
    assert provider.domain_verified_at is None and provider.domain_token
    # The page tells how to prove it, with this tenant's own token.
    assert f"{TXT_PREFIX}{provider.domain_token}" in page.text
    assert not await _routes(client, f"ana@{domain}")


async def test_a_squatter_neither_blocks_nor_takes_the_owners_domain(
    client, other_client, world, db, dns
):
    domain = _domain()
    await login(client, world.b.users[Role.OWNER], PASSWORD)  # the squatter claims first
    await _save_provider(client, domain, issuer="https://evil.example.com")
    squatter = await _provider(db, world.b.id)
    await login(other_client, world.a.users[Role.OWNER], PASSWORD)
    await _save_provider(other_client, domain)  # the real owner is not blocked
    owner = await _provider(db, world.a.id)
    assert owner.domain_token != squatter.domain_token
    dns.records[domain] = [f"{TXT_PREFIX}{owner.domain_token}", "v=spf1 -all"]
    proven = await _post(other_client, "/portal/sso/dominio/dns")
    assert proven.status_code == 303 and "prova=dns" in proven.headers["location"]
    assert (await _provider(db, world.a.id)).domain_verified_by == "dns"
    # Even with its own token published too, the squatter cannot prove it any more.
    dns.records[domain].append(f"{TXT_PREFIX}{squatter.domain_token}")
    refused = await _post(client, "/portal/sso/dominio/dns")
    assert "erro=taken" in refused.headers["location"]
    assert (await _provider(db, world.b.id)).domain_verified_at is None
    page = await client.get(refused.headers["location"])
    assert "Outro credor já comprovou o controle deste domínio." in page.text
    # And a new save of the proven domain by the squatter is refused.
    again = await client.get("/portal/sso/configuracao")
    taken = await client.post(
        "/portal/sso/configuracao",
        data={
            "issuer": "https://evil.example.com",
            "client_id": "quita",
            "email_domain": domain,
            "default_role": "viewer",
            "is_active": "on",
            "_csrf_token": csrf_from(again.text),
        },
    )
    assert taken.status_code == 400 and 'id="e-email_domain"' in taken.text


async def test_the_dns_proof_needs_the_tenants_own_token_on_the_domain(client, world, db, dns):
    await login(client, world.a.users[Role.ADMIN], PASSWORD)
    domain = _domain()
    await _save_provider(client, domain)
    dns.records[domain] = [f"{TXT_PREFIX}someone-elses-token"]
    dns.records["www." + domain] = [f"{TXT_PREFIX}{(await _provider(db, world.a.id)).domain_token}"]
    missing = await _post(client, "/portal/sso/dominio/dns")
    assert "erro=not_found" in missing.headers["location"]
    dns.broken.add(domain)
    broken = await _post(client, "/portal/sso/dominio/dns")
    assert "erro=lookup" in broken.headers["location"]
    assert (await _provider(db, world.a.id)).domain_verified_at is None
    assert set(dns.asked) == {domain}
    # An analyst may not try at all.
    client.cookies.clear()
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    page = await client.get("/portal/home")
    forbidden = await client.post(
        "/portal/sso/dominio/dns", data={"_csrf_token": csrf_from(page.text)}
    )
    assert forbidden.status_code == 403


async def test_changing_the_domain_takes_the_proof_away(client, world, db, dns):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    domain = _domain()
    await _save_provider(client, domain)
    token = (await _provider(db, world.a.id)).domain_token
    dns.records[domain] = [f"{TXT_PREFIX}{token}"]
    await _post(client, "/portal/sso/dominio/dns")
    assert (await _provider(db, world.a.id)).domain_verified_at is not None
    other = _domain()
    await _save_provider(client, other)
    moved = await _provider(db, world.a.id)
    assert moved.domain_verified_at is None and moved.domain_token != token
    assert not await _routes(client, f"ana@{other}")


async def test_the_email_proof_is_a_signed_link_to_an_admin_address_confirmed_by_a_button(
    client, other_client, world, db, dns, outbox, app, monkeypatch
):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    domain = _domain()
    await _save_provider(client, domain)
    odd = await _post(client, "/portal/sso/dominio/email", mailbox="ceo")
    assert "erro=mailbox" in odd.headers["location"]
    sent = await _post(client, "/portal/sso/dominio/email", mailbox="hostmaster")
    assert "prova=email" in sent.headers["location"]
    (mail,) = await outbox.to(f"hostmaster@{domain}")
    link = re.search(r"https://testserver\.local(/portal/sso/dominio/\S+)", mail.body_text)
    assert link is not None
    path = link.group(1)
    # The domain's administrator needs no Quita account; opening the link changes nothing.
    page = await other_client.get(path)
    assert page.status_code == 200 and domain in page.text and world.a.tenant.name in page.text
    assert (await _provider(db, world.a.id)).domain_verified_at is None
    # A forged or altered link is refused.
    forged = path[:-6] + ("000000" if not path.endswith("000000") else "111111")
    assert (await other_client.get(forged)).status_code == 400
    other_mailbox = path.replace("/hostmaster/", "/admin/")
    assert (await other_client.get(other_mailbox)).status_code == 400
    confirmed = await other_client.post(path, data={"_csrf_token": csrf_from(page.text)})
    assert confirmed.status_code == 200, confirmed.text[-500:]
    proven = await _provider(db, world.a.id)
    assert proven.domain_verified_by == "email"
    async with db.session(Scope.tenant(world.a.id)) as session:
        events = list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "sso.domain_verified")
            )
        )
    assert [e.details["method"] for e in events] == ["email"]
    assert events[0].actor_label == f"hostmaster@{domain}"
    assert await _routes(client, f"ana@{domain}")
    # A link expires.
    await _save_provider(client, _domain())
    await _post(client, "/portal/sso/dominio/email", mailbox="admin")
    moved = await _provider(db, world.a.id)
    (mail,) = await outbox.to(f"admin@{moved.email_domain}")
    late = re.search(r"https://testserver\.local(/portal/sso/dominio/\S+)", mail.body_text)
    assert late is not None
    monkeypatch.setattr(
        app.state, "clock", FrozenClock(datetime.now(UTC) + timedelta(days=3, minutes=1))
    )
    assert (await other_client.get(late.group(1))).status_code == 400


async def test_confirmation_emails_are_limited_per_day(client, world, db, dns, outbox):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    domain = _domain()
    await _save_provider(client, domain)
    for _ in range(EMAILS_PER_DAY):
        sent = await _post(client, "/portal/sso/dominio/email", mailbox="postmaster")
        assert "prova=email" in sent.headers["location"]
    refused = await _post(client, "/portal/sso/dominio/email", mailbox="postmaster")
    assert "erro=limit" in refused.headers["location"]
    assert len(await outbox.to(f"postmaster@{domain}")) == EMAILS_PER_DAY


async def test_the_database_refuses_one_domain_proven_for_two_tenants(world, db):
    domain = _domain()
    now = datetime.now(UTC)
    async with db.session(Scope.system()) as session:
        for tenant_id in (world.a.id, world.b.id):
            session.add(
                IdentityProvider(
                    tenant_id=tenant_id,
                    issuer="https://idp.example.com",
                    client_id="c",
                    client_secret="fernet:x",
                    email_domain=domain,
                    default_role=Role.VIEWER,
                    domain_token=uuid.uuid4().hex,
                    domain_verified_at=now,
                    domain_verified_by="dns",
                )
            )
        with pytest.raises(IntegrityError):
            await session.commit()
