"""The audit log: every sign-in, failed sign-in and administrative action."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from tenants.models import AuditEvent


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, and from where: enough to write an audit line."""

    user_id: uuid.UUID | None
    label: str
    ip: str
    tenant_id: uuid.UUID | None = None


def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    *,
    target: str = "",
    tenant_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit line to the session (written with the rest of the unit of work)."""
    event = AuditEvent(
        tenant_id=tenant_id if tenant_id is not None else actor.tenant_id,
        actor_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        target=target,
        ip=actor.ip,
        details=details or {},
        at=utcnow(),
    )
    session.add(event)
    return event


async def recent(session: AsyncSession, *, limit: int = 100) -> Sequence[AuditEvent]:
    """The latest audit lines visible in the session's scope."""
    rows = await session.scalars(select(AuditEvent).order_by(AuditEvent.at.desc()).limit(limit))
    return rows.all()
