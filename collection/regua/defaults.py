"""The régua every new creditor starts with: the steps of ``collection.domain.regua``,
switched off until the creditor reviews them (``Tenant.reminders_enabled``)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain.regua import DEFAULT_REGUA
from collection.models import Channel, ReminderAnchor, ReminderStep


def add_default_regua(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Add the default steps for a creditor just created, in the caller's unit of work."""
    for step in DEFAULT_REGUA:
        session.add(
            ReminderStep(
                tenant_id=tenant_id,
                name=step.name,
                anchor=ReminderAnchor(step.anchor),
                offset_days=step.offset_days,
                channel=Channel(step.channel),
                subject=step.subject,
                body=step.body,
            )
        )
