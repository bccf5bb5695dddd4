"""Staff sign-in: passwords, throttling, sessions, second factor, password reset.

Sessions live in the database (``staff_sessions``); the browser holds a random token
and we store only its SHA-256, so a stolen database holds no live session. A new token
is issued at every privilege change (sign-in, second factor), which defeats session
fixation. Sign-in failures are counted per account and per address in a sliding window.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db import Database, Scope
from core.i18n import gettext as _
from core.mail import queue_email
from core.security import (
    hash_password,
    keyed_hash,
    mask_email,
    needs_rehash,
    new_token,
    token_digest,
    verify_password,
)
from core.settings import SecuritySettings
from tenants.models import (
    Agency,
    AgencyGrant,
    AgencyMembership,
    ApiToken,
    LoginAttempt,
    OidcLogin,
    OneTimeToken,
    StaffSession,
    Tenant,
    TenantMembership,
    User,
)
from tenants.roles import Permission, Role, permissions_for
from tenants.services import audit
from tenants.services.audit import Actor

MIN_PASSWORD_LENGTH = 10
_SEEN_EVERY = timedelta(minutes=5)


class SignInError(Exception):
    """Sign-in refused; ``reason`` says why without telling which part was wrong."""

    class Reason(enum.StrEnum):
        INVALID = "invalid"
        THROTTLED = "throttled"

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason


class PasswordError(ValueError):
    """A new password that is not acceptable (the message is for the person)."""


@dataclass(frozen=True, slots=True)
class TenantChoice:
    """A tenant a user may work in, and the role they have there."""

    tenant_id: uuid.UUID
    name: str
    role: Role
    agency_name: str = ""


@dataclass(frozen=True, slots=True)
class AgencyChoice:
    """The agency a user works for, and their role there (supervisor or agent)."""

    agency_id: uuid.UUID
    name: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return permission in permissions_for(self.role)


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in staff person for this request."""

    user_id: uuid.UUID
    email: str
    name: str
    session_id: str
    is_platform_admin: bool
    mfa_pending: bool
    has_totp: bool
    tenant: TenantChoice | None
    choices: tuple[TenantChoice, ...] = field(default_factory=tuple)
    # The agency whose queue this person works (a person works for one agency).
    agency: AgencyChoice | None = None

    @property
    def tenant_id(self) -> uuid.UUID | None:
        return self.tenant.tenant_id if self.tenant else None

    @property
    def role(self) -> Role | None:
        return self.tenant.role if self.tenant else None

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_for(self.tenant.role) if self.tenant else frozenset()

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def can_at_agency(self, permission: Permission) -> bool:
        """May do ``permission`` in their agency's work (queue, proposals, reports)."""
        return self.agency is not None and self.agency.can(permission)

    def actor(self, ip: str) -> Actor:
        return Actor(user_id=self.user_id, label=self.email, ip=ip, tenant_id=self.tenant_id)


@dataclass(frozen=True, slots=True)
class SignIn:
    """A successful first step of sign-in: the cookie token, and whether TOTP follows."""

    token: str
    mfa_required: bool


def _account_key(security: SecuritySettings, email: str) -> str:
    return keyed_hash(security.secret_key, email.strip().lower())


def check_password_strength(password: str, email: str = "") -> None:
    """Refuse passwords that are short or trivially guessable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordError(_("The password must have at least 10 characters."))
    if email and email.split("@")[0].lower() in password.lower():
        raise PasswordError(_("The password cannot contain your e-mail."))
    if len(set(password)) < 4:
        raise PasswordError(_("The password is too easy to guess."))


class AuthService:
    """Sign-in, sessions and credentials of staff users."""

    def __init__(self, db: Database, security: SecuritySettings, clock: Clock, base_url: str):
        self.db = db
        self.security = security
        self.clock = clock
        self.base_url = base_url

    # -- sign-in -------------------------------------------------------------------------

    async def _failures(self, session: AsyncSession, account_key: str, ip: str) -> tuple[int, int]:
        since = self.clock.now() - timedelta(minutes=self.security.login_window_minutes)
        base = (
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since)
        )
        by_account = await session.scalar(base.where(LoginAttempt.account_key == account_key))
        by_ip = await session.scalar(base.where(LoginAttempt.ip == ip))
        return int(by_account or 0), int(by_ip or 0)

    async def sign_in(self, email: str, password: str, *, ip: str, user_agent: str) -> SignIn:
        """Check the password and open a session, or raise SignInError."""
        email = email.strip().lower()
        key = _account_key(self.security, email)
        actor = Actor(user_id=None, label=mask_email(email), ip=ip)
        limit = self.security.login_max_failures
        async with self.db.session(Scope.system()) as session:
            by_account, by_ip = await self._failures(session, key, ip)
            if by_account >= limit or by_ip >= limit:
                audit.record(session, actor, "login.throttled")
                await session.commit()
                raise SignInError(SignInError.Reason.THROTTLED)
            user = await session.scalar(select(User).where(User.email == email))
            ok = verify_password(user.password_hash if user else None, password)
            if not ok or user is None or not user.is_active:
                session.add(
                    LoginAttempt(account_key=key, ip=ip, succeeded=False, at=self.clock.now())
                )
                audit.record(session, actor, "login.failed")
                await session.commit()
                raise SignInError(SignInError.Reason.INVALID)
            if user.password_hash and needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            await session.execute(delete(LoginAttempt).where(LoginAttempt.account_key == key))
            session.add(LoginAttempt(account_key=key, ip=ip, succeeded=True, at=self.clock.now()))
            token = self._open(
                session,
                user,
                ip=ip,
                user_agent=user_agent,
                mfa_pending=user.totp_secret is not None,
            )
            user.last_login_at = self.clock.now()
            audit.record(
                session,
                Actor(user.id, user.email, ip),
                "login.succeeded",
                details={"mfa": user.totp_secret is not None},
            )
            await session.commit()
            return SignIn(token=token, mfa_required=user.totp_secret is not None)

    async def sign_in_external(
        self,
        user_id: uuid.UUID,
        tenant_id: uuid.UUID,
        *,
        ip: str,
        user_agent: str,
        via: str = "oidc",
    ) -> SignIn:
        """Open a session for a person an identity provider vouched for, working in
        ``tenant_id``; a second factor enrolled in Quita is still asked for."""
        async with self.db.session(Scope.system()) as session:
            user = await session.get(User, user_id)
            if user is None or not user.is_active:
                raise SignInError(SignInError.Reason.INVALID)
            mfa = user.totp_secret is not None
            token = self._open(
                session,
                user,
                ip=ip,
                user_agent=user_agent,
                mfa_pending=mfa,
                tenant_id=tenant_id,
            )
            user.last_login_at = self.clock.now()
            audit.record(
                session,
                Actor(user.id, user.email, ip, tenant_id),
                "login.sso_succeeded",
                details={"via": via, "mfa": mfa},
            )
            await session.commit()
            return SignIn(token=token, mfa_required=mfa)

    def _open(
        self,
        session: AsyncSession,
        user: User,
        *,
        ip: str,
        user_agent: str,
        mfa_pending: bool,
        tenant_id: uuid.UUID | None = None,
    ) -> str:
        token = new_token()
        now = self.clock.now()
        session.add(
            StaffSession(
                id=token_digest(token),
                user_id=user.id,
                mfa_pending=mfa_pending,
                active_tenant_id=tenant_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=self.security.session_hours),
                ip=ip[:45],
                user_agent=user_agent[:300],
            )
        )
        return token

    async def verify_second_factor(self, token: str, code: str, *, ip: str) -> str:
        """Finish a sign-in with a TOTP code; returns the new session token."""
        async with self.db.session(Scope.system()) as session:
            staff_session = await self._live_session(session, token)
            if staff_session is None or not staff_session.mfa_pending:
                raise SignInError(SignInError.Reason.INVALID)
            user = await session.get_one(User, staff_session.user_id)
            key = _account_key(self.security, user.email)
            by_account, by_ip = await self._failures(session, key, ip)
            limit = self.security.login_max_failures
            if by_account >= limit or by_ip >= limit:
                audit.record(session, Actor(user.id, user.email, ip), "login.throttled")
                await session.delete(staff_session)
                await session.commit()
                raise SignInError(SignInError.Reason.THROTTLED)
            if not user.totp_secret or not pyotp.TOTP(user.totp_secret).verify(
                code.strip(), for_time=self.clock.now(), valid_window=1
            ):
                session.add(
                    LoginAttempt(account_key=key, ip=ip, succeeded=False, at=self.clock.now())
                )
                audit.record(session, Actor(user.id, user.email, ip), "login.mfa_failed")
                await session.commit()
                raise SignInError(SignInError.Reason.INVALID)
            await session.delete(staff_session)
            new = self._open(
                session, user, ip=ip, user_agent=staff_session.user_agent, mfa_pending=False
            )
            audit.record(session, Actor(user.id, user.email, ip), "login.mfa_succeeded")
            await session.commit()
            return new

    async def _live_session(self, session: AsyncSession, token: str) -> StaffSession | None:
        staff_session = await session.get(StaffSession, token_digest(token))
        if staff_session is None or staff_session.expires_at <= self.clock.now():
            return None
        return staff_session

    # -- who is this? --------------------------------------------------------------------

    async def principal(self, token: str) -> Principal | None:
        """Resolve a session cookie to the person and the tenant they are working in."""
        if not token or len(token) > 100:
            return None
        async with self.db.session(Scope.system()) as session:
            staff_session = await self._live_session(session, token)
            if staff_session is None:
                return None
            user = await session.get(User, staff_session.user_id)
            if user is None or not user.is_active:
                return None
            choices = await self._choices(session, user.id)
            current = next(
                (c for c in choices if c.tenant_id == staff_session.active_tenant_id),
                choices[0] if choices else None,
            )
            now = self.clock.now()
            if now - staff_session.last_seen_at > _SEEN_EVERY:
                staff_session.last_seen_at = now
                await session.commit()
            return Principal(
                user_id=user.id,
                email=user.email,
                name=user.name,
                session_id=staff_session.id,
                is_platform_admin=user.is_platform_admin,
                mfa_pending=staff_session.mfa_pending,
                has_totp=user.totp_secret is not None,
                tenant=current,
                choices=tuple(choices),
                agency=await self._agency(session, user.id),
            )

    async def _choices(self, session: AsyncSession, user_id: uuid.UUID) -> list[TenantChoice]:
        direct = await session.execute(
            select(Tenant.id, Tenant.name, TenantMembership.role)
            .join(TenantMembership, TenantMembership.tenant_id == Tenant.id)
            .where(
                TenantMembership.user_id == user_id,
                TenantMembership.is_active.is_(True),
                Tenant.is_active.is_(True),
            )
            .order_by(Tenant.name)
        )
        via_agency = await session.execute(
            select(Tenant.id, Tenant.name, AgencyMembership.role, Agency.name)
            .join(AgencyGrant, AgencyGrant.tenant_id == Tenant.id)
            .join(Agency, Agency.id == AgencyGrant.agency_id)
            .join(AgencyMembership, AgencyMembership.agency_id == Agency.id)
            .where(
                AgencyMembership.user_id == user_id,
                AgencyMembership.is_active.is_(True),
                Tenant.is_active.is_(True),
            )
            .order_by(Tenant.name)
        )
        choices = [TenantChoice(t, n, Role(r)) for t, n, r in direct.all()]
        seen = {c.tenant_id for c in choices}
        for t, n, r, agency_name in via_agency.all():
            if t not in seen:
                choices.append(TenantChoice(t, n, Role(r), agency_name))
                seen.add(t)
        return choices

    async def _agency(self, session: AsyncSession, user_id: uuid.UUID) -> AgencyChoice | None:
        row = (
            await session.execute(
                select(Agency.id, Agency.name, AgencyMembership.role)
                .join(AgencyMembership, AgencyMembership.agency_id == Agency.id)
                .where(AgencyMembership.user_id == user_id, AgencyMembership.is_active.is_(True))
                .order_by(Agency.name)
                .limit(1)
            )
        ).first()
        return AgencyChoice(row[0], row[1], Role(row[2])) if row else None

    async def switch_tenant(self, principal: Principal, tenant_id: uuid.UUID, *, ip: str) -> bool:
        """Make another of the user's tenants the current one; False if not theirs."""
        if tenant_id not in {c.tenant_id for c in principal.choices}:
            return False
        async with self.db.session(Scope.system()) as session:
            staff_session = await session.get_one(StaffSession, principal.session_id)
            staff_session.active_tenant_id = tenant_id
            audit.record(
                session, principal.actor(ip), "session.tenant_switched", tenant_id=tenant_id
            )
            await session.commit()
        return True

    # -- sign-out ------------------------------------------------------------------------

    async def sign_out(self, token: str, *, ip: str, everywhere: bool = False) -> None:
        """End this session, or every session of its user."""
        async with self.db.session(Scope.system()) as session:
            staff_session = await session.get(StaffSession, token_digest(token))
            if staff_session is None:
                return
            user = await session.get_one(User, staff_session.user_id)
            if everywhere:
                await session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
            else:
                await session.delete(staff_session)
            audit.record(
                session,
                Actor(user.id, user.email, ip),
                "logout.everywhere" if everywhere else "logout",
            )
            await session.commit()

    # -- second factor -------------------------------------------------------------------

    @staticmethod
    def new_totp_secret() -> str:
        return pyotp.random_base32()

    @staticmethod
    def totp_uri(secret: str, email: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Quita")

    async def enable_totp(self, principal: Principal, secret: str, code: str, *, ip: str) -> bool:
        """Turn on TOTP after the person proves their app has the secret."""
        if not pyotp.TOTP(secret).verify(code.strip(), for_time=self.clock.now(), valid_window=1):
            return False
        async with self.db.session(Scope.system()) as session:
            user = await session.get_one(User, principal.user_id)
            user.totp_secret = secret
            audit.record(session, principal.actor(ip), "user.totp_enabled")
            await session.commit()
        return True

    async def disable_totp(self, principal: Principal, password: str, *, ip: str) -> bool:
        async with self.db.session(Scope.system()) as session:
            user = await session.get_one(User, principal.user_id)
            if not verify_password(user.password_hash, password):
                return False
            user.totp_secret = None
            audit.record(session, principal.actor(ip), "user.totp_disabled")
            await session.commit()
        return True

    # -- password reset ------------------------------------------------------------------

    async def request_password_reset(self, email: str, *, ip: str) -> None:
        """E-mail a one-time link if the account exists; answer the same either way."""
        email = email.strip().lower()
        async with self.db.session(Scope.system()) as session:
            user = await session.scalar(select(User).where(User.email == email))
            audit.record(
                session,
                Actor(user.id if user else None, mask_email(email), ip),
                "password.reset_requested",
            )
            if user is not None and user.is_active:
                token = self.issue_token(
                    session, user, "reset", timedelta(minutes=self.security.reset_token_minutes)
                )
                queue_email(
                    session,
                    to=user.email,
                    template="password_reset",
                    context={
                        "name": user.name,
                        "link": f"{self.base_url}/portal/password/reset/{token}",
                        "minutes": self.security.reset_token_minutes,
                    },
                )
            await session.commit()

    def issue_token(
        self, session: AsyncSession, user: User, purpose: str, lifetime: timedelta
    ) -> str:
        """Create a single-use link token; returns the token (only its digest is kept)."""
        token = new_token()
        session.add(
            OneTimeToken(
                id=token_digest(token),
                purpose=purpose,
                user_id=user.id,
                expires_at=self.clock.now() + lifetime,
            )
        )
        return token

    async def token_user(self, token: str, purposes: tuple[str, ...]) -> User | None:
        """The user a still-valid link token belongs to."""
        async with self.db.session(Scope.system()) as session:
            row = await self._valid_token(session, token, purposes)
            return None if row is None else await session.get(User, row.user_id)

    async def _valid_token(
        self, session: AsyncSession, token: str, purposes: tuple[str, ...]
    ) -> OneTimeToken | None:
        if not token or len(token) > 100:
            return None
        row = await session.get(OneTimeToken, token_digest(token))
        if (
            row is None
            or row.purpose not in purposes
            or row.used_at is not None
            or row.expires_at <= self.clock.now()
        ):
            return None
        return row

    async def set_password_with_token(
        self, token: str, password: str, *, ip: str, purposes: tuple[str, ...] = ("reset", "invite")
    ) -> bool:
        """Use a reset or invitation link: set the password and end every old session."""
        async with self.db.session(Scope.system()) as session:
            row = await self._valid_token(session, token, purposes)
            if row is None:
                return False
            user = await session.get_one(User, row.user_id)
            check_password_strength(password, user.email)
            user.password_hash = hash_password(password)
            row.used_at = self.clock.now()
            await session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
            audit.record(
                session,
                Actor(user.id, user.email, ip),
                "password.reset" if row.purpose == "reset" else "invite.accepted",
            )
            await session.commit()
        return True

    async def change_password(
        self, principal: Principal, current: str, new: str, *, ip: str
    ) -> bool:
        """Change one's own password; other sessions are ended."""
        async with self.db.session(Scope.system()) as session:
            user = await session.get_one(User, principal.user_id)
            if not verify_password(user.password_hash, current):
                return False
            check_password_strength(new, user.email)
            user.password_hash = hash_password(new)
            await session.execute(
                delete(StaffSession).where(
                    StaffSession.user_id == user.id, StaffSession.id != principal.session_id
                )
            )
            audit.record(session, principal.actor(ip), "password.changed")
            await session.commit()
        return True

    async def purge_expired(self, now: datetime) -> int:
        """Delete expired sessions, old attempts and used tokens (periodic job)."""
        async with self.db.session(Scope.system()) as session:
            result = await session.execute(
                delete(StaffSession).where(StaffSession.expires_at < now)
            )
            await session.execute(
                delete(LoginAttempt).where(LoginAttempt.at < now - timedelta(days=1))
            )
            await session.execute(delete(OneTimeToken).where(OneTimeToken.expires_at < now))
            # API tokens a day after they expired (kept a while for the audit trail's sake)
            # and sign-ins at an identity provider that were never finished.
            await session.execute(
                delete(ApiToken).where(ApiToken.expires_at < now - timedelta(days=1))
            )
            await session.execute(delete(OidcLogin).where(OidcLogin.expires_at < now))
            await session.commit()
            return int(getattr(result, "rowcount", 0) or 0)
