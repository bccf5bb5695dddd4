"""ORM models of tenancy and identity."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamped, UUIDPrimaryKey, utcnow
from core.tenancy import TenantOwned
from tenants.roles import Role

ROLE_ENUM = Enum(
    Role, name="role", native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
)


class Tenant(UUIDPrimaryKey, Timestamped, Base):
    """A creditor company: owns portfolios, policies and staff memberships."""

    __tablename__ = "tenants"

    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    legal_name: Mapped[str] = mapped_column(String(200))
    cnpj: Mapped[str] = mapped_column(String(14), unique=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The negotiation policy (charges, discounts, plans) in the documented TOML format
    # (docs/POLICY.md); None means the platform's default policy.
    policy_toml: Mapped[str | None] = mapped_column(Text, default=None)
    # The creditor's connected account at the payment gateway (Stripe Connect,
    # ``acct_...``); payments go to it. Empty: the debtor site offers no payment.
    stripe_account: Mapped[str] = mapped_column(String(80), default="")
    # Who takes this creditor's Pix: "stripe" (its connected account) or "psp" (a Pix PSP
    # speaking the Banco Central's Pix API, to ``pix_key``, the creditor's chave there).
    pix_provider: Mapped[str] = mapped_column(String(20), default="stripe", server_default="stripe")
    pix_key: Mapped[str] = mapped_column(String(77), default="", server_default="")
    # The régua de cobrança sends only when switched on (its dry run works either way).
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Days between the prior written notice being posted and the negativação (CDC art.
    # 43 §2; bureau practice is 10, some states ask more).
    negativacao_wait_days: Mapped[int] = mapped_column(Integer, default=10)
    # Years a settled person's data is kept before it is anonymised (LGPD arts. 15-16;
    # collection/privacy/retention.py).
    retention_years: Mapped[int] = mapped_column(Integer, default=5, server_default="5")


class PolicyVersion(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """One published negotiation policy of a tenant, as its TOML file; never changed.

    Publishing (portal, API) adds the next ``number`` and makes it the tenant's policy
    (``Tenant.policy_toml`` holds the text in force); older versions stay for history.
    """

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    number: Mapped[int] = mapped_column(Integer)
    toml: Mapped[str] = mapped_column(Text)
    published_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    published_by_label: Mapped[str] = mapped_column(String(254), default="")
    source: Mapped[str] = mapped_column(String(20), default="portal")  # portal | api | migration


class Agency(UUIDPrimaryKey, Timestamped, Base):
    """A collection agency that works accounts of the tenants that granted it access."""

    __tablename__ = "agencies"

    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    cnpj: Mapped[str] = mapped_column(String(14), unique=True)


class AgencyGrant(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """A tenant lets an agency work its accounts."""

    __tablename__ = "agency_grants"
    __table_args__ = (UniqueConstraint("tenant_id", "agency_id"),)

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    commission_rate: Mapped[str] = mapped_column(String(12), default="0")
    agency: Mapped[Agency] = relationship(lazy="joined")


class User(UUIDPrimaryKey, Timestamped, Base):
    """A staff person; one account across every tenant and agency they belong to."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    # The last TOTP time-step (unix time // 30) accepted: a code is good once only.
    totp_last_step: Mapped[int | None] = mapped_column(Integer, default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    # The tenant this person last chose to work in: preselected after the next sign-in.
    last_tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="SET NULL"), default=None
    )


class TenantMembership(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """A user's role at a creditor tenant."""

    __tablename__ = "tenant_memberships"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(ROLE_ENUM)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    user: Mapped[User] = relationship(lazy="joined")


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"


class TenantInvitation(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """A tenant asks a person to join with a role; nothing of the tenant is reachable
    until the person accepts (tenants/services/invitations.py)."""

    __tablename__ = "tenant_invitations"
    __table_args__ = (
        Index(
            "ux_tenant_invitations_pending",
            "tenant_id",
            "user_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(ROLE_ENUM)
    # The name the inviter typed: what the tenant sees until the person accepts (never
    # the account's own name, which belongs to the person).
    name: Mapped[str] = mapped_column(String(200))
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[InvitationStatus] = mapped_column(
        Enum(
            InvitationStatus,
            name="invitation_status",
            native_enum=False,
            length=10,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=InvitationStatus.PENDING,
    )
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None] = mapped_column(default=None)


class AgencyMembership(UUIDPrimaryKey, Timestamped, Base):
    """A user's role at an agency (supervisor or agent)."""

    __tablename__ = "agency_memberships"
    __table_args__ = (UniqueConstraint("agency_id", "user_id"),)

    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(ROLE_ENUM)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class StaffSession(Base):
    """A signed-in browser. The cookie holds a token; we keep only its digest."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    active_tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="SET NULL"), default=None
    )
    mfa_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class LoginAttempt(UUIDPrimaryKey, Base):
    """One try at a credential, or one reset e-mail asked for (``kind``).

    Password failures slow down the account from that address, then the account
    everywhere, and the address once it has failed on several accounts; second-factor
    failures are counted apart (a good password does not clear them); "reset" rows count
    the reset e-mails asked for, per account and per address.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_account_at", "account_key", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    account_key: Mapped[str] = mapped_column(String(64))  # keyed hash of the e-mail
    ip: Mapped[str] = mapped_column(String(45))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(
        String(10), default="password", server_default="password"
    )  # "password" | "totp" | "reset"
    at: Mapped[datetime] = mapped_column(default=utcnow)


class OneTimeToken(Base):
    """A single-use link: password reset or invitation. Only the digest is stored."""

    __tablename__ = "one_time_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))  # "reset" | "invite"
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(UUIDPrimaryKey, TenantOwned, Base):
    """Who did what, when, where. Tenant-scoped when the action belongs to a tenant."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_tenant_at", "tenant_id", "at"),)

    # Sign-in events have no tenant: they are written in system scope and no tenant
    # scope ever sees them.
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(  # type: ignore[assignment]
        ForeignKey("tenants.id", ondelete="CASCADE"), default=None
    )
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    actor_label: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(200), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


# -- the tenant's integrations: API clients, outbound webhooks, single sign-on ----------


class ApiClient(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """A system of the tenant that calls the API with OAuth2 client credentials."""

    __tablename__ = "api_clients"

    name: Mapped[str] = mapped_column(String(120))
    client_id: Mapped[str] = mapped_column(String(48), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))  # the secret is shown once
    scopes: Mapped[str] = mapped_column(String(500))  # space-separated
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class ApiToken(Base):
    """A short-lived access token issued to an API client; only its digest is stored.

    Looked up before any tenant is known (system scope), so not ``TenantOwned``; the
    tenant it grants is ``tenant_id``.
    """

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_clients.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    scopes: Mapped[str] = mapped_column(String(500))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class WebhookEndpoint(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """A URL of the tenant that receives signed events."""

    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(500))
    # HMAC key, shown to the tenant; sealed with core.secrets_box (``fernet:...``).
    secret: Mapped[str] = mapped_column(String(500))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class WebhookDelivery(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """The outbox of outbound webhooks: one event for one endpoint, retried until done."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(64))  # the same for every endpoint
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class IdentityProvider(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """A tenant's OpenID Connect provider: its staff sign in with their company account."""

    __tablename__ = "identity_providers"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        # A domain is proven for one tenant only (tenants/services/sso_domains.py).
        Index(
            "ux_identity_providers_proven_domain",
            "email_domain",
            unique=True,
            postgresql_where=text("domain_verified_at IS NOT NULL"),
            sqlite_where=text("domain_verified_at IS NOT NULL"),
        ),
    )

    issuer: Mapped[str] = mapped_column(String(300))
    client_id: Mapped[str] = mapped_column(String(200))
    # Sealed with core.secrets_box (``fernet:...``), never stored in clear.
    client_secret: Mapped[str] = mapped_column(String(2000))
    email_domain: Mapped[str] = mapped_column(String(200))  # matched or provisioned users
    default_role: Mapped[Role] = mapped_column(ROLE_ENUM)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Proof of control of ``email_domain``: until it is given, the provider routes nobody.
    domain_token: Mapped[str] = mapped_column(String(40), default="")  # the TXT record's
    domain_verified_at: Mapped[datetime | None] = mapped_column(default=None)
    domain_verified_by: Mapped[str] = mapped_column(String(10), default="")  # dns | email


class OidcLogin(Base):
    """A sign-in in progress at an identity provider (state, nonce, PKCE verifier)."""

    __tablename__ = "oidc_logins"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the state
    provider_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("identity_providers.id", ondelete="CASCADE")
    )
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
