"""A person's answer to the tenants that invited them.

An invitation is only a question: until the person accepts it, they have no membership
at the inviting tenant, so nothing of it is reachable (no tenant choice, no session in
it, no SSO match). The inviting tenant sees the name it typed, never the account's own.
Accepting or declining is audited at the inviting tenant. These functions run in system
scope and always filter by the person (``user_id``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database, Scope
from tenants.models import (
    InvitationStatus,
    StaffSession,
    Tenant,
    TenantInvitation,
    TenantMembership,
    User,
)
from tenants.roles import Role
from tenants.services import audit
from tenants.services.audit import Actor


@dataclass(frozen=True, slots=True)
class PendingInvitation:
    """What the invited person sees of an invitation."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_name: str
    role: Role
    inviter_name: str
    expires_at: datetime


def _pending(user_id: uuid.UUID, now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        TenantInvitation.user_id == user_id,
        TenantInvitation.status == InvitationStatus.PENDING,
        TenantInvitation.expires_at > now,
    )


async def count_pending(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    """How many invitations wait for this person's answer (system scope)."""
    count = await session.scalar(
        select(func.count())
        .select_from(TenantInvitation)
        .join(Tenant, Tenant.id == TenantInvitation.tenant_id)
        .where(*_pending(user_id, now), Tenant.is_active.is_(True))
    )
    return int(count or 0)


async def pending_for(
    session: AsyncSession, user_id: uuid.UUID, now: datetime
) -> Sequence[PendingInvitation]:
    """The invitations waiting for this person's answer, oldest first (system scope)."""
    inviter = select(User.name).where(User.id == TenantInvitation.invited_by).scalar_subquery()
    rows = await session.execute(
        select(
            TenantInvitation.id,
            Tenant.id,
            Tenant.name,
            TenantInvitation.role,
            inviter,
            TenantInvitation.expires_at,
        )
        .join(Tenant, Tenant.id == TenantInvitation.tenant_id)
        .where(*_pending(user_id, now), Tenant.is_active.is_(True))
        .order_by(TenantInvitation.created_at)
    )
    return [
        PendingInvitation(i, t, name, Role(role), who or "", expires)
        for i, t, name, role, who, expires in rows.all()
    ]


async def answer(
    session: AsyncSession,
    user_id: uuid.UUID,
    invitation_id: uuid.UUID,
    *,
    accept: bool,
    actor: Actor,
    now: datetime,
) -> uuid.UUID | None:
    """Accept (a membership with the invited role starts) or decline an invitation of
    this person; the tenant's id, or None when there is no such pending invitation."""
    invitation = await session.scalar(
        select(TenantInvitation)
        .where(TenantInvitation.id == invitation_id, *_pending(user_id, now))
        .with_for_update()
    )
    if invitation is None:
        return None
    invitation.status = InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED
    invitation.answered_at = now
    if accept:
        existing = await session.scalar(
            select(TenantMembership).where(
                TenantMembership.tenant_id == invitation.tenant_id,
                TenantMembership.user_id == user_id,
            )
        )
        if existing is None:
            session.add(
                TenantMembership(
                    tenant_id=invitation.tenant_id, user_id=user_id, role=invitation.role
                )
            )
    audit.record(
        session,
        actor,
        "user.invitation_accepted" if accept else "user.invitation_declined",
        tenant_id=invitation.tenant_id,
        target=str(user_id),
        details={"role": invitation.role.value},
    )
    return invitation.tenant_id


async def respond(
    db: Database,
    *,
    user_id: uuid.UUID,
    session_id: str,
    invitation_id: uuid.UUID,
    accept: bool,
    actor: Actor,
    now: datetime,
) -> uuid.UUID | None:
    """The signed-in person answers one of their invitations (its own unit of work).
    Accepting also makes the tenant the one this session works in (the person just
    chose it); the tenant's id, or None when there is no such pending invitation."""
    async with db.session(Scope.system()) as session:
        tenant_id = await answer(
            session, user_id, invitation_id, accept=accept, actor=actor, now=now
        )
        if tenant_id is None:
            return None
        if accept:
            staff_session = await session.get(StaffSession, session_id)
            if staff_session is not None:
                staff_session.active_tenant_id = tenant_id
            (await session.get_one(User, user_id)).last_tenant_id = tenant_id
        await session.commit()
        return tenant_id
