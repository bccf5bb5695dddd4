"""Staff single sign-on with the tenant's OpenID Connect provider (authorization code
flow with PKCE, through Authlib's httpx client).

One provider per tenant: its issuer (discovered from ``/.well-known/openid-configuration``),
client id and secret, the e-mail domain of its staff and the role new people get. The
sign-in in progress (``OidcLogin``) keeps only the digest of ``state``, with the nonce and
the PKCE verifier; it is deleted when the provider calls back, so a state works once.
The ID token is checked against the provider's JWKS (RS256), its issuer, audience,
expiry and nonce (``authlib.oidc.core.CodeIDToken``); the e-mail must be verified by the
provider and belong to the provider's domain.

Who may come in this way (the provider is the tenant's own, so it only vouches for the
tenant's own people): a new e-mail is provisioned with the default role at that tenant;
an existing account is matched only when every membership it has is at that tenant. An
account that also works for another creditor or an agency, or a platform admin, must
sign in with its password: otherwise one tenant's provider could open a session into
another tenant's data. A membership that an admin switched off is not brought back.

Second factor: a person who enrolled TOTP in Quita is still asked for it after the
provider's sign-in. The provider's own MFA is the tenant's policy; the code the person
chose in Quita is theirs, and skipping it would make the provider a way around it.
"""

from __future__ import annotations

import enum
import ipaddress
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db import Database, Scope
from core.i18n import gettext as _
from core.secrets_box import SecretsBox, SecretUnreadable
from core.security import mask_email, new_token, token_digest
from tenants.models import (
    AgencyMembership,
    IdentityProvider,
    OidcLogin,
    TenantMembership,
    User,
)
from tenants.roles import Role
from tenants.services import audit, sso_domains
from tenants.services.audit import Actor
from tenants.services.auth import AuthService, SignIn

LOGIN_LIFETIME = timedelta(minutes=10)
SCOPES = "openid email profile"
HTTP_TIMEOUT = httpx.Timeout(10.0)
LEEWAY_SECONDS = 60
ROLES = (Role.ADMIN, Role.ANALYST, Role.VIEWER)  # never owner: owners are named by hand


class SsoError(Exception):
    """A sign-in with the provider refused; ``reason`` says why (shown as a message)."""

    class Reason(enum.StrEnum):
        NO_PROVIDER = "no_provider"
        STATE = "state"  # unknown, expired or already used
        PROVIDER = "provider"  # the provider could not be reached or refused the code
        TOKEN = "token"  # the ID token is not valid for us  # noqa: S105
        EMAIL = "email"  # no verified e-mail
        DOMAIN = "domain"  # e-mail outside the provider's domain
        ACCOUNT = "account"  # an account that may not sign in this way

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason

    @property
    def message(self) -> str:
        messages = {
            self.Reason.NO_PROVIDER: _("Your company does not sign in to Quita this way yet."),
            self.Reason.STATE: _("This sign-in link expired or was already used. Start again."),
            self.Reason.PROVIDER: _("Your company's sign-in service did not answer. Try again."),
            self.Reason.TOKEN: _("Your company's sign-in could not be confirmed. Start again."),
            self.Reason.EMAIL: _("Your company's account has no confirmed e-mail address."),
            self.Reason.DOMAIN: _("This e-mail address does not belong to your company."),
            self.Reason.ACCOUNT: _(
                "This account cannot sign in with the company account. Use your password."
            ),
        }
        return messages[self.reason]


@dataclass(frozen=True, slots=True)
class ProviderForm:
    """The provider settings as typed by an owner or admin."""

    issuer: str
    client_id: str
    client_secret: str  # empty on an edit: keep the stored one
    email_domain: str
    default_role: str
    is_active: bool = True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalise_issuer(issuer: str) -> str:
    return issuer.strip().rstrip("/")


def check_provider(
    form: ProviderForm, *, production: bool, has_secret: bool = False
) -> dict[str, str]:
    """What is wrong with the provider settings, by field."""
    errors: dict[str, str] = {}
    parts = urlsplit(normalise_issuer(form.issuer))
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("https", "http") or parts.query or parts.fragment:
        errors["issuer"] = _("Type the provider's address, starting with https://.")
    elif parts.scheme == "http" and (production or not _is_loopback(host)):
        errors["issuer"] = _("Use https:// (plain http only to this machine, for tests).")
    if not form.client_id.strip() or len(form.client_id) > 200:
        errors["client_id"] = _("Type the client id the provider gave you.")
    if (not form.client_secret.strip() and not has_secret) or len(form.client_secret) > 300:
        errors["client_secret"] = _("Type the client secret the provider gave you.")
    domain = form.email_domain.strip().lower().lstrip("@")
    if "." not in domain or "@" in domain or " " in domain or len(domain) > 200:
        errors["email_domain"] = _("Type your company's e-mail domain, like empresa.com.br.")
    if form.default_role not in {r.value for r in ROLES}:
        errors["default_role"] = _("Choose a role.")
    return errors


async def provider_of(session: AsyncSession) -> IdentityProvider | None:
    """The provider of the session's tenant, if set."""
    found: IdentityProvider | None = await session.scalar(select(IdentityProvider))
    return found


class SsoService:
    """Provider settings, and the two halves of a sign-in: to the provider and back."""

    def __init__(
        self,
        db: Database,
        auth: AuthService,
        clock: Clock,
        *,
        box: SecretsBox,
        production: bool,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.db = db
        self.auth = auth
        self.clock = clock
        self.box = box  # the client secret is kept sealed at rest
        self.production = production
        self._transport = transport

    # -- settings ------------------------------------------------------------------------

    async def domain_taken(self, domain: str, tenant_id: uuid.UUID) -> bool:
        """Another tenant proved control of this e-mail domain. (A claim not proven
        blocks nobody: else a squatter could keep the real owner out.)"""
        async with self.db.session(Scope.system()) as session:
            other = await session.scalar(
                select(IdentityProvider.id).where(
                    IdentityProvider.email_domain == domain,
                    IdentityProvider.tenant_id != tenant_id,
                    IdentityProvider.domain_verified_at.is_not(None),
                )
            )
            return other is not None

    async def save(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        form: ProviderForm,
        actor: Actor,
    ) -> tuple[IdentityProvider | None, dict[str, str]]:
        """Check and save the tenant's provider (in ``session``, a tenant unit of work);
        the provider, or the errors by field."""
        found = await provider_of(session)
        errors = check_provider(form, production=self.production, has_secret=found is not None)
        domain = form.email_domain.strip().lower().lstrip("@")
        if not errors and await self.domain_taken(domain, tenant_id):
            errors["email_domain"] = _("Another creditor already signs in this domain.")
        if errors:
            return None, errors
        if found is None:
            found = IdentityProvider(id=uuid.uuid4(), tenant_id=tenant_id)
            session.add(found)
        if found.email_domain != domain or not found.domain_token:
            sso_domains.reset_proof(found)  # a new domain must be proven again
        found.issuer = normalise_issuer(form.issuer)
        found.client_id = form.client_id.strip()
        if form.client_secret.strip():
            found.client_secret = self.box.seal(form.client_secret.strip())
        found.email_domain = domain
        found.default_role = Role(form.default_role)
        found.is_active = form.is_active
        audit.record(
            session,
            actor,
            "sso.provider_saved",
            target=str(found.id),
            details={
                "issuer": found.issuer,
                "domain": domain,
                "role": found.default_role.value,
                "active": found.is_active,
                "proven": found.domain_verified_at is not None,
            },
        )
        return found, {}

    async def provider_for_email(self, email: str) -> IdentityProvider | None:
        """The active provider whose tenant proved control of the e-mail's domain."""
        domain = email.strip().lower().rpartition("@")[2]
        if not domain:
            return None
        async with self.db.session(Scope.system()) as session:
            found: IdentityProvider | None = await session.scalar(
                select(IdentityProvider).where(
                    IdentityProvider.email_domain == domain,
                    IdentityProvider.is_active.is_(True),
                    IdentityProvider.domain_verified_at.is_not(None),
                )
            )
            return found

    # -- the provider's metadata ---------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=HTTP_TIMEOUT, follow_redirects=False, transport=self._transport
        )

    async def _get_json(self, url: str) -> dict[str, Any]:
        async with self._http() as client:
            response = await client.get(url)
        response.raise_for_status()
        data = response.json()
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return data

    async def _metadata(self, issuer: str) -> dict[str, Any]:
        """The discovery document; its issuer must be the one configured."""
        metadata = await self._get_json(issuer + "/.well-known/openid-configuration")
        if normalise_issuer(str(metadata.get("issuer", ""))) != issuer:
            raise ValueError("issuer mismatch")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(metadata.get(key), str):
                raise ValueError(f"missing {key}")
        return metadata

    def _client(self, provider: IdentityProvider, redirect_uri: str) -> AsyncOAuth2Client:
        try:
            secret = self.box.open(provider.client_secret)
        except SecretUnreadable as exc:  # another key, or altered: the admin saves it again
            raise SsoError(SsoError.Reason.PROVIDER) from exc
        return AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=secret,
            scope=SCOPES,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=HTTP_TIMEOUT,
            follow_redirects=False,
            transport=self._transport,
        )

    # -- to the provider -----------------------------------------------------------------

    async def start(self, provider: IdentityProvider, redirect_uri: str) -> tuple[str, str]:
        """Record a sign-in in progress; the provider's authorization URL and the state."""
        try:
            metadata = await self._metadata(provider.issuer)
        except (httpx.HTTPError, ValueError) as exc:
            raise SsoError(SsoError.Reason.PROVIDER) from exc
        state = new_token(24)
        nonce = new_token(24)
        verifier = generate_token(64)
        async with self._client(provider, redirect_uri) as client:
            url, _state = client.create_authorization_url(
                metadata["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
            )
        now = self.clock.now()
        async with self.db.session(Scope.system()) as session:
            # Sign-ins never finished are forgotten here; no sweeper is needed.
            await session.execute(delete(OidcLogin).where(OidcLogin.expires_at < now))
            session.add(
                OidcLogin(
                    id=token_digest(state),
                    provider_id=provider.id,
                    nonce=nonce,
                    code_verifier=verifier,
                    created_at=now,
                    expires_at=now + LOGIN_LIFETIME,
                )
            )
            await session.commit()
        return str(url), state

    # -- back from the provider ----------------------------------------------------------

    async def _fail(
        self,
        reason: SsoError.Reason,
        *,
        ip: str,
        provider: IdentityProvider | None = None,
        email: str = "",
    ) -> SsoError:
        async with self.db.session(Scope.system()) as session:
            audit.record(
                session,
                Actor(None, mask_email(email) if email else "sso", ip),
                "login.sso_failed",
                tenant_id=provider.tenant_id if provider else None,
                details={"reason": reason.value},
            )
            await session.commit()
        return SsoError(reason)

    async def _take_login(self, state: str) -> tuple[OidcLogin, IdentityProvider] | None:
        """The sign-in in progress for ``state``, deleted in the same step (single use)."""
        if not state or len(state) > 200:
            return None
        async with self.db.session(Scope.system()) as session:
            login = await session.get(OidcLogin, token_digest(state), with_for_update=True)
            if login is None:
                return None
            await session.delete(login)
            provider = await session.get(IdentityProvider, login.provider_id)
            await session.commit()
            if login.expires_at <= self.clock.now() or provider is None:
                return None
            return login, provider

    async def abandon(self, state: str, *, ip: str) -> None:
        """Consume a sign-in the browser cannot finish (cancelled at the provider, or
        answered to another browser) and audit it."""
        taken = await self._take_login(state)
        await self._fail(SsoError.Reason.STATE, ip=ip, provider=taken[1] if taken else None)

    async def _claims(
        self, provider: IdentityProvider, login: OidcLogin, code: str, redirect_uri: str
    ) -> dict[str, Any]:
        """Exchange the code (with the PKCE verifier) and validate the ID token."""
        try:
            metadata = await self._metadata(provider.issuer)
            async with self._client(provider, redirect_uri) as client:
                token = await client.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=login.code_verifier,
                )
            jwks = await self._get_json(metadata["jwks_uri"])
        except Exception as exc:  # network, HTTP or OAuth error: the provider's side
            raise SsoError(SsoError.Reason.PROVIDER) from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SsoError(SsoError.Reason.TOKEN)
        try:
            keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
            decoded = jwt.decode(id_token, keys, algorithms=["RS256"])
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {
                    "iss": {"essential": True, "value": metadata["issuer"]},
                    "aud": {"essential": True, "value": provider.client_id},
                },
                {
                    "nonce": login.nonce,
                    "client_id": provider.client_id,
                    "access_token": token.get("access_token"),
                },
            )
            claims.validate(now=int(self.clock.now().timestamp()), leeway=LEEWAY_SECONDS)
        except (JoseError, ValueError, KeyError) as exc:
            raise SsoError(SsoError.Reason.TOKEN) from exc
        return dict(claims)

    async def finish(
        self, state: str, code: str, redirect_uri: str, *, ip: str, user_agent: str
    ) -> SignIn:
        """Complete a sign-in: check everything the provider says, match or provision
        the person, and open a staff session; raises SsoError (audited)."""
        taken = await self._take_login(state)
        if taken is None:
            raise await self._fail(SsoError.Reason.STATE, ip=ip)
        login, provider = taken
        if not provider.is_active or provider.domain_verified_at is None:
            raise await self._fail(SsoError.Reason.NO_PROVIDER, ip=ip, provider=provider)
        try:
            claims = await self._claims(provider, login, code, redirect_uri)
        except SsoError as exc:
            raise await self._fail(exc.reason, ip=ip, provider=provider) from exc
        email = str(claims.get("email") or "").strip().lower()
        if not email or claims.get("email_verified") is not True:
            raise await self._fail(SsoError.Reason.EMAIL, ip=ip, provider=provider)
        if email.rpartition("@")[2] != provider.email_domain:
            raise await self._fail(SsoError.Reason.DOMAIN, ip=ip, provider=provider, email=email)
        name = str(claims.get("name") or email.partition("@")[0])[:200]
        user_id = await self._match_or_provision(provider, email, name, ip)
        if user_id is None:
            raise await self._fail(SsoError.Reason.ACCOUNT, ip=ip, provider=provider, email=email)
        return await self.auth.sign_in_external(
            user_id, provider.tenant_id, ip=ip, user_agent=user_agent, via="oidc"
        )

    async def _match_or_provision(
        self, provider: IdentityProvider, email: str, name: str, ip: str
    ) -> uuid.UUID | None:
        """The user for a verified e-mail of the provider's domain, or None if that
        account may not sign in through this provider (see the module's docstring)."""
        tenant_id = provider.tenant_id
        async with self.db.session(Scope.system()) as session:
            user = await session.scalar(select(User).where(User.email == email))
            if user is None:
                user = User(id=uuid.uuid4(), email=email, name=name, password_hash=None)
                session.add(user)
                session.add(
                    TenantMembership(
                        tenant_id=tenant_id, user_id=user.id, role=provider.default_role
                    )
                )
                audit.record(
                    session,
                    Actor(None, "sso", ip, tenant_id),
                    "user.provisioned_sso",
                    target=str(user.id),
                    details={"role": provider.default_role.value},
                )
                await session.commit()
                return user.id
            if not user.is_active or user.is_platform_admin:
                return None
            memberships = list(
                await session.scalars(
                    select(TenantMembership).where(TenantMembership.user_id == user.id)
                )
            )
            agency = await session.scalar(
                select(AgencyMembership.id).where(AgencyMembership.user_id == user.id)
            )
            if agency is not None or any(m.tenant_id != tenant_id for m in memberships):
                return None
            if memberships:
                return user.id if memberships[0].is_active else None
            session.add(
                TenantMembership(tenant_id=tenant_id, user_id=user.id, role=provider.default_role)
            )
            audit.record(
                session,
                Actor(user.id, user.email, ip, tenant_id),
                "user.joined_sso",
                target=str(user.id),
                details={"role": provider.default_role.value},
            )
            await session.commit()
            return user.id
