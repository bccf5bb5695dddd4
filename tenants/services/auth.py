"""Staff sign-in: passwords, throttling, sessions, second factor, password reset.

Sessions live in the database (``staff_sessions``); the browser holds a random token
and we store only its SHA-256, so a stolen database holds no live session. A new token
is issued at every privilege change (sign-in, second factor), which defeats session
fixation.

Guessing is slowed down without letting anyone lock a colleague out (issue 26):

* password failures from one address on one account get an exponential delay after
  ``login_max_failures`` of them; the same address can then make only a handful more
  guesses per window, so it can never reach the account-wide threshold alone;
* the account, counted over every address, gets the same kind of delay only after
  ``ACCOUNT_FAILURES`` failures (a guess spread over many addresses); the delay is capped
  at the window and refused tries are not counted, so it always ends;
* an address is refused once it has failed on ``ADDRESS_ACCOUNTS`` distinct accounts
  (password spraying); one person mistyping their own password many times behind an
  office's NAT counts as one account;
* second-factor failures are counted apart, are not cleared by a good password, and
  throttle the account; a TOTP code is good once only (the last time-step used is kept);
* reset e-mails are limited per account and per address, a new link revokes older ones
  and using one (or changing the password) revokes them all.
"""

from __future__ import annotations

import enum
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyotp
from sqlalchemy import delete, func, or_, select, update
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
from core.throttle import backoff_until
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
from tenants.services import audit, invitations
from tenants.services.audit import Actor

MIN_PASSWORD_LENGTH = 10
_SEEN_EVERY = timedelta(minutes=5)

# Password failures on one account, over all addresses, before it is slowed down.
ACCOUNT_FAILURES = 20
# Distinct accounts an address may fail on in the window before it is refused.
ADDRESS_ACCOUNTS = 10
# The first delay once a threshold is reached; it doubles with every further failure,
# up to the window (``login_window_minutes``).
BACKOFF_BASE = timedelta(seconds=30)
# Wrong second-factor codes on one account in the window before it is refused.
TOTP_FAILURES = 5
# Reset e-mails asked for in RESET_WINDOW: per account (known or not) and per address.
RESET_WINDOW = timedelta(hours=1)
RESET_PER_ACCOUNT = 3
RESET_PER_ADDRESS = 10

PASSWORD, TOTP, RESET = "password", "totp", "reset"


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
    # Set when the user works here as staff of an agency the tenant granted access: they
    # see and act only on the accounts handed over to that agency.
    agency_id: uuid.UUID | None = None


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
    # Invitations waiting for this person's answer (tenants/services/invitations.py).
    pending_invitations: int = 0
    # The tenant chosen last time: preselected on the chooser after sign-in.
    last_tenant_id: uuid.UUID | None = None

    @property
    def must_choose(self) -> bool:
        """Works for several tenants and has not chosen one in this session yet."""
        return self.tenant is None and len(self.choices) > 1

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

    def _backoff_until(self, failures: int, threshold: int, last: datetime | None) -> datetime:
        """When a run of ``failures`` (the last one at ``last``) stops being refused."""
        cap = timedelta(minutes=self.security.login_window_minutes)
        until = backoff_until(failures, threshold, last, base=BACKOFF_BASE, cap=cap)
        return until or datetime.min.replace(tzinfo=self.clock.now().tzinfo)

    async def _password_throttled(self, session: AsyncSession, account_key: str, ip: str) -> bool:
        """Whether a password try for this account from this address is refused now."""
        ip = ip[:45]
        now = self.clock.now()
        since = now - timedelta(minutes=self.security.login_window_minutes)
        failed = (
            LoginAttempt.kind == PASSWORD,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at >= since,
        )
        stats = select(func.count(), func.max(LoginAttempt.at)).where(*failed)
        pair = (
            await session.execute(
                stats.where(LoginAttempt.account_key == account_key, LoginAttempt.ip == ip)
            )
        ).one()
        if now < self._backoff_until(int(pair[0]), self.security.login_max_failures, pair[1]):
            return True
        account = (
            await session.execute(stats.where(LoginAttempt.account_key == account_key))
        ).one()
        if now < self._backoff_until(int(account[0]), ACCOUNT_FAILURES, account[1]):
            return True
        accounts = await session.scalar(
            select(func.count(func.distinct(LoginAttempt.account_key))).where(
                *failed, LoginAttempt.ip == ip
            )
        )
        return int(accounts or 0) >= ADDRESS_ACCOUNTS

    async def _count(
        self, session: AsyncSession, kind: str, since: datetime, *conditions: Any
    ) -> int:
        found = await session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.kind == kind, LoginAttempt.at >= since, *conditions)
        )
        return int(found or 0)

    def _attempt(self, session: AsyncSession, kind: str, key: str, ip: str, ok: bool) -> None:
        session.add(
            LoginAttempt(account_key=key, ip=ip[:45], succeeded=ok, kind=kind, at=self.clock.now())
        )

    async def sign_in(self, email: str, password: str, *, ip: str, user_agent: str) -> SignIn:
        """Check the password and open a session, or raise SignInError."""
        email = email.strip().lower()
        key = _account_key(self.security, email)
        actor = Actor(user_id=None, label=mask_email(email), ip=ip)
        async with self.db.session(Scope.system()) as session:
            if await self._password_throttled(session, key, ip):
                audit.record(session, actor, "login.throttled")
                await session.commit()
                raise SignInError(SignInError.Reason.THROTTLED)
            user = await session.scalar(select(User).where(User.email == email))
            ok = verify_password(user.password_hash if user else None, password)
            if not ok or user is None or not user.is_active:
                self._attempt(session, PASSWORD, key, ip, ok=False)
                audit.record(session, actor, "login.failed")
                await session.commit()
                raise SignInError(SignInError.Reason.INVALID)
            if user.password_hash and needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            # Forget this address's password failures on the account only: failures from
            # elsewhere, and second-factor failures, keep counting.
            await session.execute(
                delete(LoginAttempt).where(
                    LoginAttempt.account_key == key,
                    LoginAttempt.ip == ip[:45],
                    LoginAttempt.kind == PASSWORD,
                )
            )
            self._attempt(session, PASSWORD, key, ip, ok=True)
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
            since = self.clock.now() - timedelta(minutes=self.security.login_window_minutes)
            failures = await self._count(
                session,
                TOTP,
                since,
                LoginAttempt.account_key == key,
                LoginAttempt.succeeded.is_(False),
            )
            if failures >= TOTP_FAILURES:
                audit.record(session, Actor(user.id, user.email, ip), "login.mfa_throttled")
                await session.delete(staff_session)
                await session.commit()
                raise SignInError(SignInError.Reason.THROTTLED)
            step = (
                _totp_step(user.totp_secret, code, self.clock.now(), user.totp_last_step)
                if user.totp_secret
                else None
            )
            # Claim the time-step in one conditional UPDATE, so that two sign-ins racing
            # with the same code cannot both win.
            if step is None or not await self._claim_step(session, user.id, step):
                self._attempt(session, TOTP, key, ip, ok=False)
                audit.record(session, Actor(user.id, user.email, ip), "login.mfa_failed")
                await session.commit()
                raise SignInError(SignInError.Reason.INVALID)
            await session.execute(
                delete(LoginAttempt).where(
                    LoginAttempt.account_key == key, LoginAttempt.kind == TOTP
                )
            )
            await session.delete(staff_session)
            new = self._open(
                session, user, ip=ip, user_agent=staff_session.user_agent, mfa_pending=False
            )
            audit.record(session, Actor(user.id, user.email, ip), "login.mfa_succeeded")
            await session.commit()
            return new

    @staticmethod
    async def _claim_step(session: AsyncSession, user_id: uuid.UUID, step: int) -> bool:
        result = await session.execute(
            update(User)
            .where(
                User.id == user_id,
                or_(User.totp_last_step.is_(None), User.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

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
            # The tenant chosen in this session; with one choice only, that one. Never a
            # guess among several: the person chooses (portal/workspace.py).
            current = next(
                (c for c in choices if c.tenant_id == staff_session.active_tenant_id),
                choices[0] if len(choices) == 1 else None,
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
                pending_invitations=await invitations.count_pending(session, user.id, now),
                last_tenant_id=user.last_tenant_id,
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
            select(Tenant.id, Tenant.name, AgencyMembership.role, Agency.name, Agency.id)
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
        for t, n, r, agency_name, agency_id in via_agency.all():
            if t not in seen:
                choices.append(TenantChoice(t, n, Role(r), agency_name, agency_id))
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
        """Work in another of the user's tenants in this session, and remember it as the
        one to preselect next time; False if not theirs."""
        if tenant_id not in {c.tenant_id for c in principal.choices}:
            return False
        async with self.db.session(Scope.system()) as session:
            staff_session = await session.get_one(StaffSession, principal.session_id)
            staff_session.active_tenant_id = tenant_id
            (await session.get_one(User, principal.user_id)).last_tenant_id = tenant_id
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
        step = _totp_step(secret, code, self.clock.now(), None)
        if step is None:
            return False
        async with self.db.session(Scope.system()) as session:
            user = await session.get_one(User, principal.user_id)
            user.totp_secret = secret
            user.totp_last_step = step  # the code that proved the app cannot sign in too
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
        """E-mail a one-time link if the account exists; answer the same either way.

        Raises SignInError(THROTTLED) when the address asked too often. An account asked
        for too often gets no new e-mail, silently (known or unknown e-mails alike, so the
        answer tells nothing); a new link revokes the older ones.
        """
        email = email.strip().lower()
        key = _account_key(self.security, email)
        since = self.clock.now() - RESET_WINDOW
        async with self.db.session(Scope.system()) as session:
            user = await session.scalar(select(User).where(User.email == email))
            actor = Actor(user.id if user else None, mask_email(email), ip)
            if (
                await self._count(session, RESET, since, LoginAttempt.ip == ip[:45])
                >= RESET_PER_ADDRESS
            ):
                audit.record(session, actor, "password.reset_throttled", details={"by": "ip"})
                await session.commit()
                raise SignInError(SignInError.Reason.THROTTLED)
            if (
                await self._count(session, RESET, since, LoginAttempt.account_key == key)
                >= RESET_PER_ACCOUNT
            ):
                audit.record(session, actor, "password.reset_throttled", details={"by": "account"})
                await session.commit()
                return
            self._attempt(session, RESET, key, ip, ok=True)
            audit.record(session, actor, "password.reset_requested")
            if user is not None and user.is_active:
                await self._revoke_tokens(session, user.id, ("reset",))
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

    async def _revoke_tokens(
        self, session: AsyncSession, user_id: uuid.UUID, purposes: tuple[str, ...]
    ) -> None:
        """Make every unused link of these purposes of the user unusable."""
        await session.execute(
            update(OneTimeToken)
            .where(
                OneTimeToken.user_id == user_id,
                OneTimeToken.purpose.in_(purposes),
                OneTimeToken.used_at.is_(None),
            )
            .values(used_at=self.clock.now())
            .execution_options(synchronize_session=False)
        )

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
            # Claim the link in one conditional UPDATE (two tabs racing: one wins), then
            # revoke every other reset or invitation link of the account.
            claimed = await session.execute(
                update(OneTimeToken)
                .where(OneTimeToken.id == row.id, OneTimeToken.used_at.is_(None))
                .values(used_at=self.clock.now())
                .execution_options(synchronize_session=False)
            )
            if int(getattr(claimed, "rowcount", 0) or 0) != 1:
                return False
            await self._revoke_tokens(session, user.id, ("reset", "invite"))
            user.password_hash = hash_password(password)
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
            await self._revoke_tokens(session, user.id, ("reset",))
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


def _totp_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time-step ``code`` belongs to (one step of clock drift either way), if it is
    newer than ``last_step``; None for a wrong or already used code."""
    code = code.strip()
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step if last_step is None or step > last_step else None
    return None
