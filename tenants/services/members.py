"""A tenant's own staff: invitations, roles, deactivation. Runs in the tenant's scope."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import gettext as _
from core.mail import queue_email
from tenants.models import (
    InvitationStatus,
    StaffSession,
    Tenant,
    TenantInvitation,
    TenantMembership,
    User,
)
from tenants.roles import ASSIGNABLE_BY, Role
from tenants.services import audit
from tenants.services.auth import AuthService, Principal
from tenants.services.directory import DirectoryError, ensure_user


class MemberError(ValueError):
    """A refused change to the staff list; ``field`` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class NotFound(LookupError):
    """No such row in the current tenant (shown as 404)."""


async def list_members(session: AsyncSession) -> Sequence[TenantMembership]:
    """Every membership of the session's tenant, with its user."""
    rows = await session.scalars(select(TenantMembership).join(User).order_by(User.name))
    return rows.unique().all()


async def get_member(session: AsyncSession, membership_id: uuid.UUID) -> TenantMembership:
    membership = await session.scalar(
        select(TenantMembership).where(TenantMembership.id == membership_id)
    )
    if membership is None:
        raise NotFound(membership_id)
    return membership


def _check_assignable(principal: Principal, role: Role) -> None:
    allowed = ASSIGNABLE_BY.get(principal.role) if principal.role else None
    if not allowed or role not in allowed:
        raise MemberError("role", _("You cannot assign this role."))


async def list_invitations(session: AsyncSession, now: datetime) -> Sequence[TenantInvitation]:
    """The session's tenant's invitations still waiting for an answer."""
    rows = await session.scalars(
        select(TenantInvitation)
        .where(
            TenantInvitation.status == InvitationStatus.PENDING, TenantInvitation.expires_at > now
        )
        .order_by(TenantInvitation.created_at)
    )
    return rows.all()


async def revoke_invitation(
    session: AsyncSession, principal: Principal, invitation_id: uuid.UUID, *, ip: str, now: datetime
) -> None:
    """Withdraw an invitation not answered yet."""
    invitation = await session.scalar(
        select(TenantInvitation).where(
            TenantInvitation.id == invitation_id,
            TenantInvitation.status == InvitationStatus.PENDING,
        )
    )
    if invitation is None:
        raise NotFound(invitation_id)
    invitation.status = InvitationStatus.REVOKED
    invitation.answered_at = now
    audit.record(
        session, principal.actor(ip), "user.invitation_revoked", target=str(invitation.user_id)
    )


async def invite(
    session: AsyncSession,
    auth: AuthService,
    principal: Principal,
    *,
    email: str,
    name: str,
    role: Role,
    ip: str,
) -> TenantInvitation:
    """Invite someone to the tenant with a role: an invitation that waits for the
    person's answer after they sign in (a new person first chooses a password through
    the e-mailed link). The same answer whether or not the e-mail has an account."""
    _check_assignable(principal, role)
    email = email.strip().lower()
    if "@" not in email or "." not in email.split("@")[-1] or len(email) > 254:
        raise MemberError("email", _("Enter a valid e-mail address."))
    if not name.strip():
        raise MemberError("name", _("Enter the name."))
    try:
        user = await ensure_user(session, email=email, name=name.strip())
    except DirectoryError as exc:  # pragma: no cover - ensure_user validates nothing yet
        raise MemberError(exc.field, exc.message) from exc
    await session.flush()
    exists = await session.scalar(
        select(TenantMembership.id).where(TenantMembership.user_id == user.id)
    )
    if exists:
        raise MemberError("email", _("This person is already on the team."))
    now = auth.clock.now()
    waiting = await session.scalar(
        select(TenantInvitation).where(
            TenantInvitation.user_id == user.id,
            TenantInvitation.status == InvitationStatus.PENDING,
        )
    )
    if waiting is not None and waiting.expires_at > now:
        raise MemberError("email", _("This person was already invited and has not answered yet."))
    if waiting is not None:  # expired: a new one replaces it
        waiting.status = InvitationStatus.REVOKED
        waiting.answered_at = now
        await session.flush()
    invitation = TenantInvitation(
        user_id=user.id,
        role=role,
        name=name.strip()[:200],
        invited_by=principal.user_id,
        expires_at=now + timedelta(days=auth.security.invite_token_days),
    )
    session.add(invitation)
    tenant = await session.get_one(Tenant, principal.tenant_id)
    context = {"name": user.name, "tenant": tenant.name, "inviter": principal.name, "link": ""}
    if user.password_hash is None:
        token = auth.issue_token(
            session, user, "invite", timedelta(days=auth.security.invite_token_days)
        )
        context["link"] = f"{auth.base_url}/portal/invite/{token}"
    else:
        context["link"] = f"{auth.base_url}/portal/login"
    queue_email(session, to=user.email, template="invitation", context=context)
    audit.record(
        session,
        principal.actor(ip),
        "user.invited",
        target=str(user.id),
        details={"role": role.value, "pending": True},
    )
    return invitation


async def _owners_left(session: AsyncSession, excluding: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(TenantMembership)
        .where(
            TenantMembership.role == Role.OWNER,
            TenantMembership.is_active.is_(True),
            TenantMembership.id != excluding,
        )
    )
    return int(count or 0)


async def change_role(
    session: AsyncSession, principal: Principal, membership_id: uuid.UUID, role: Role, *, ip: str
) -> TenantMembership:
    """Give a member another role (never leaving the tenant without an owner)."""
    membership = await get_member(session, membership_id)
    _check_assignable(principal, role)
    if membership.role == Role.OWNER and principal.role != Role.OWNER:
        raise MemberError("role", _("Only an owner can change another owner."))
    if (
        membership.role == Role.OWNER
        and role != Role.OWNER
        and not await _owners_left(session, membership.id)
    ):
        raise MemberError("role", _("The creditor needs at least one owner."))
    before = membership.role
    membership.role = role
    audit.record(
        session,
        principal.actor(ip),
        "user.role_changed",
        target=str(membership.user_id),
        details={"from": before.value, "to": role.value},
    )
    return membership


async def set_active(
    session: AsyncSession, principal: Principal, membership_id: uuid.UUID, active: bool, *, ip: str
) -> TenantMembership:
    """Deactivate (or reactivate) a member; a deactivated member loses access at once."""
    membership = await get_member(session, membership_id)
    if membership.user_id == principal.user_id:
        raise MemberError("active", _("You cannot deactivate yourself."))
    if membership.role == Role.OWNER and principal.role != Role.OWNER:
        raise MemberError("active", _("Only an owner can deactivate another owner."))
    if (
        membership.role == Role.OWNER
        and not active
        and not await _owners_left(session, membership.id)
    ):
        raise MemberError("active", _("The creditor needs at least one owner."))
    membership.is_active = active
    if not active:
        # Sessions resolve memberships on every request; ending the sessions that are
        # working in this tenant makes the person sign in again for any other one.
        await session.execute(
            delete(StaffSession).where(
                StaffSession.user_id == membership.user_id,
                StaffSession.active_tenant_id == principal.tenant_id,
            )
        )
    audit.record(
        session,
        principal.actor(ip),
        "user.activated" if active else "user.deactivated",
        target=str(membership.user_id),
    )
    return membership
