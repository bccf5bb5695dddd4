"""Proof that a tenant controls the e-mail domain its SSO provider signs in.

A provider routes nobody until its domain is proven: otherwise a creditor could claim
another creditor's domain and send that creditor's staff to its own provider. Two ways:

* DNS: a TXT record ``quita-verification=<token>`` on the domain itself. The token is
  the provider's own and changes whenever the domain does. The resolver is a port
  (``TxtResolver``): the real one lives in ``integrations/dns.py``; tests pass their own.
* E-mail: a link signed with the app's secret, sent to one of the addresses that only a
  domain's administrators receive (the CA/Browser Forum's list: admin@, administrator@,
  hostmaster@, postmaster@, webmaster@). Opening it shows a button: a mail scanner that
  follows links proves nothing. The signature binds the provider, the domain, its token
  and an expiry, so a link dies when the domain changes.

One domain is proven for one tenant only (a partial unique index says it too): the
first to prove it keeps it; an unproven claim blocks nobody.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db import Database, Scope
from core.i18n import gettext as _
from core.mail import queue_email
from core.security import constant_time_equals, keyed_hash, new_token
from tenants.models import AuditEvent, IdentityProvider, Tenant
from tenants.services import audit
from tenants.services.audit import Actor

TXT_PREFIX = "quita-verification="
ADMIN_MAILBOXES = ("admin", "administrator", "hostmaster", "postmaster", "webmaster")
LINK_LIFETIME = timedelta(days=3)
EMAILS_PER_DAY = 5
DNS = "dns"
EMAIL = "email"


class TxtResolver(Protocol):
    """The TXT strings published at a DNS name ([] when there are none); raises
    ``LookupError`` when the name cannot be looked up."""

    async def __call__(self, name: str) -> list[str]: ...


class DomainError(Exception):
    """A proof refused; ``message`` says why, for the person."""

    class Reason(enum.StrEnum):
        NO_PROVIDER = "no_provider"
        NOT_FOUND = "not_found"  # no TXT record with the token
        LOOKUP = "lookup"  # the DNS could not be asked
        TAKEN = "taken"  # another tenant proved this domain
        LINK = "link"  # forged, expired or for an older domain
        LIMIT = "limit"  # too many e-mails today
        MAILBOX = "mailbox"

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason

    @property
    def message(self) -> str:
        messages = {
            self.Reason.NO_PROVIDER: _("Save the provider settings first."),
            self.Reason.NOT_FOUND: _(
                "The TXT record was not found yet. DNS changes can take a while: try again later."
            ),
            self.Reason.LOOKUP: _("The domain's DNS did not answer. Try again later."),
            self.Reason.TAKEN: _("Another creditor already proved control of this domain."),
            self.Reason.LINK: _("This confirmation link is not valid or expired."),
            self.Reason.LIMIT: _("Too many confirmation e-mails today. Try again tomorrow."),
            self.Reason.MAILBOX: _("Choose one of the addresses listed."),
        }
        return messages[self.reason]


def new_domain_token() -> str:
    return new_token(18)


def txt_value(provider: IdentityProvider) -> str:
    """The TXT record the tenant publishes on its domain."""
    return TXT_PREFIX + provider.domain_token


def reset_proof(provider: IdentityProvider) -> None:
    """A new domain (or a new provider) starts unproven, with a fresh token."""
    provider.domain_token = new_domain_token()
    provider.domain_verified_at = None
    provider.domain_verified_by = ""


def _record_matches(records: list[str], expected: str) -> bool:
    # A long TXT value may come split in several strings; resolvers join them for us,
    # but stray quotes and spaces are forgiven.
    return any(constant_time_equals(r.strip().strip('"').strip(), expected) for r in records if r)


class DomainProof:
    """Checks the DNS record, sends the e-mail link, confirms it."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        secret_key: str,
        base_url: str,
        resolver: TxtResolver,
    ) -> None:
        self.db = db
        self.clock = clock
        self._key = secret_key
        self.base_url = base_url
        self.resolver = resolver

    async def _provider_of(self, session: AsyncSession, tenant_id: uuid.UUID) -> IdentityProvider:
        found = await session.scalar(
            select(IdentityProvider).where(IdentityProvider.tenant_id == tenant_id)
        )
        if found is None:
            raise DomainError(DomainError.Reason.NO_PROVIDER)
        return found

    async def _mark_proven(
        self, session: AsyncSession, provider: IdentityProvider, method: str, actor: Actor
    ) -> None:
        """Record the proof, unless another tenant holds the domain (system scope)."""
        if provider.domain_verified_at is not None:
            return
        other = await session.scalar(
            select(IdentityProvider.id).where(
                IdentityProvider.email_domain == provider.email_domain,
                IdentityProvider.tenant_id != provider.tenant_id,
                IdentityProvider.domain_verified_at.is_not(None),
            )
        )
        if other is not None:
            raise DomainError(DomainError.Reason.TAKEN)
        provider.domain_verified_at = self.clock.now()
        provider.domain_verified_by = method
        audit.record(
            session,
            actor,
            "sso.domain_verified",
            tenant_id=provider.tenant_id,
            target=str(provider.id),
            details={"domain": provider.email_domain, "method": method},
        )
        try:
            await session.commit()
        except IntegrityError as exc:  # proven by another tenant at the same moment
            await session.rollback()
            raise DomainError(DomainError.Reason.TAKEN) from exc

    # -- DNS -----------------------------------------------------------------------------

    async def check_dns(self, tenant_id: uuid.UUID, actor: Actor) -> IdentityProvider:
        """Look for the TXT record now; the provider, proven, or DomainError."""
        async with self.db.session(Scope.system()) as session:
            provider = await self._provider_of(session, tenant_id)
            if provider.domain_verified_at is not None:
                return provider
            try:
                records = await self.resolver(provider.email_domain)
            except LookupError as exc:
                raise DomainError(DomainError.Reason.LOOKUP) from exc
            if not _record_matches(records, txt_value(provider)):
                raise DomainError(DomainError.Reason.NOT_FOUND)
            await self._mark_proven(session, provider, DNS, actor)
            return provider

    # -- e-mail --------------------------------------------------------------------------

    def _signature(self, provider: IdentityProvider, mailbox: str, expires: int) -> str:
        message = "|".join(
            (
                "sso-domain",
                str(provider.id),
                provider.email_domain,
                provider.domain_token,
                mailbox,
                str(expires),
            )
        )
        return keyed_hash(self._key, message)

    def link(self, provider: IdentityProvider, mailbox: str, now: datetime) -> str:
        expires = int((now + LINK_LIFETIME).timestamp())
        signature = self._signature(provider, mailbox, expires)
        return f"{self.base_url}/portal/sso/dominio/{provider.id}/{mailbox}/{expires}/{signature}"

    async def send_email(self, tenant_id: uuid.UUID, mailbox: str, actor: Actor) -> str:
        """E-mail a confirmation link to ``mailbox@domain``; the address written to."""
        if mailbox not in ADMIN_MAILBOXES:
            raise DomainError(DomainError.Reason.MAILBOX)
        now = self.clock.now()
        async with self.db.session(Scope.system()) as session:
            provider = await self._provider_of(session, tenant_id)
            sent = await session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.tenant_id == tenant_id,
                    AuditEvent.action == "sso.domain_email_sent",
                    AuditEvent.at > now - timedelta(days=1),
                )
            )
            if int(sent or 0) >= EMAILS_PER_DAY:
                raise DomainError(DomainError.Reason.LIMIT)
            tenant = await session.get_one(Tenant, tenant_id)
            address = f"{mailbox}@{provider.email_domain}"
            queue_email(
                session,
                to=address,
                template="sso_domain",
                context={
                    "tenant": tenant.name,
                    "domain": provider.email_domain,
                    "link": self.link(provider, mailbox, now),
                    "days": LINK_LIFETIME.days,
                },
            )
            audit.record(
                session,
                actor,
                "sso.domain_email_sent",
                tenant_id=tenant_id,
                target=str(provider.id),
                details={"domain": provider.email_domain, "mailbox": mailbox},
            )
            await session.commit()
            return address

    async def _linked(
        self,
        session: AsyncSession,
        provider_id: uuid.UUID,
        mailbox: str,
        expires: int,
        signature: str,
    ) -> IdentityProvider:
        if mailbox not in ADMIN_MAILBOXES or len(signature) > 100:
            raise DomainError(DomainError.Reason.LINK)
        provider = await session.get(IdentityProvider, provider_id)
        if (
            provider is None
            or expires < int(self.clock.now().timestamp())
            or not constant_time_equals(self._signature(provider, mailbox, expires), signature)
        ):
            raise DomainError(DomainError.Reason.LINK)
        return provider

    async def link_provider(
        self, provider_id: uuid.UUID, mailbox: str, expires: int, signature: str
    ) -> tuple[IdentityProvider, str]:
        """The provider and its tenant's name for a valid link; DomainError otherwise."""
        async with self.db.session(Scope.system()) as session:
            provider = await self._linked(session, provider_id, mailbox, expires, signature)
            tenant = await session.get_one(Tenant, provider.tenant_id)
            return provider, tenant.name

    async def confirm_link(
        self, provider_id: uuid.UUID, mailbox: str, expires: int, signature: str, *, ip: str
    ) -> IdentityProvider:
        """The domain's administrator confirmed: the domain is proven for the tenant."""
        async with self.db.session(Scope.system()) as session:
            provider = await self._linked(session, provider_id, mailbox, expires, signature)
            label = f"{mailbox}@{provider.email_domain}"
            await self._mark_proven(
                session, provider, EMAIL, Actor(None, label, ip, provider.tenant_id)
            )
            return provider
