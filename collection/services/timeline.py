"""One account's history at one creditor: messages (planned, sent, blocked and why,
failed), payments, and the agreements' changes of state, newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.models import Agreement, Message, Payment, ReminderStep
from tenants.models import AuditEvent

_AGREEMENT_ACTIONS = ("agreement.created", "agreement.status", "payment.reversed")


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    kind: str  # message | payment | agreement
    title: str
    status: str
    detail: str = ""


async def account_timeline(session: AsyncSession, debtor_id: uuid.UUID) -> list[Entry]:
    """Everything that happened to the debtor's account (the session's tenant only)."""
    entries: list[Entry] = []
    messages = await session.execute(
        select(Message, ReminderStep.name)
        .outerjoin(ReminderStep, ReminderStep.id == Message.step_id)
        .where(Message.debtor_id == debtor_id)
    )
    for message, step in messages.all():
        entries.append(
            Entry(
                at=message.sent_at or message.send_after,
                kind="message",
                title=f"{step or '—'} · {message.channel.value}",
                status=message.status.value,
                detail=message.rule or message.error,
            )
        )
    agreement_ids = list(
        await session.scalars(select(Agreement.id).where(Agreement.debtor_id == debtor_id))
    )
    payments = await session.scalars(select(Payment).where(Payment.agreement_id.in_(agreement_ids)))
    for payment in payments:
        entries.append(
            Entry(
                at=payment.created_at,
                kind="payment",
                title=f"{payment.method.value} · {payment.amount}",
                status=payment.status.value,
                detail=payment.failure,
            )
        )
    events = await session.scalars(
        select(AuditEvent).where(
            AuditEvent.action.in_(_AGREEMENT_ACTIONS),
            AuditEvent.target.in_([str(a) for a in agreement_ids]),
        )
    )
    for event in events:
        details = event.details or {}
        entries.append(
            Entry(
                at=event.at,
                kind="agreement",
                title=event.action,
                status=str(details.get("to", "")),
                detail=str(details.get("reason", "")),
            )
        )
    return sorted(entries, key=lambda e: e.at, reverse=True)
