"""The name cleared at once: when a confirmed payment settles an agreement's condition for
removing a negativação (its first payment, or the debt paid), the removal is requested
within minutes by a job, not at the next calendar run (STJ Súmula 548 allows 5 business
days; Quita does not wait).

The payment's transaction sends ``escalation.clear_names`` after it commits, only when
the agreement has a debt listed; the job applies the same rule as the calendar run
(``service.request_removals``) to that agreement's debts alone, so it is idempotent: a
repeated job, or the hourly run coming first, changes nothing. The debtor's agreement
page shows each listing's status, and the bureau file carries the removal request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain.escalation import EscalationStatus
from collection.escalation.service import request_removals
from collection.models import AgreementDebt, Escalation, EscalationKind
from core.db import Database, Scope
from core.tasks import enqueue_after_commit

CLEAR_NAMES = "escalation.clear_names"


async def after_payment(session: AsyncSession, agreement_id: uuid.UUID) -> bool:
    """In a confirmed payment's transaction: send the job if a debt of the agreement is
    listed (it runs once the payment is committed)."""
    listed = await session.scalar(
        select(Escalation.id)
        .join(AgreementDebt, AgreementDebt.debt_id == Escalation.debt_id)
        .where(
            AgreementDebt.agreement_id == agreement_id,
            Escalation.kind == EscalationKind.NEGATIVACAO,
            Escalation.status == EscalationStatus.LISTED,
        )
        .limit(1)
    )
    if listed is None:
        return False
    enqueue_after_commit(session, CLEAR_NAMES, str(agreement_id))
    return True


async def clear_names(db: Database, agreement_id: uuid.UUID, today: date) -> dict[str, int]:
    """Request the removal of the agreement's listings whose condition is now met."""
    async with db.session(Scope.system()) as session:
        debt_ids = list(
            await session.scalars(
                select(AgreementDebt.debt_id).where(AgreementDebt.agreement_id == agreement_id)
            )
        )
        counts = await request_removals(session, today, debt_ids)
        await session.commit()
    return counts


@dataclass(frozen=True, slots=True)
class NameStatus:
    """One listing of the person's name for a debt of the agreement."""

    status: EscalationStatus
    listed_on: date | None
    removal_requested_on: date | None


async def name_statuses(db: Database, agreement_id: uuid.UUID) -> list[NameStatus]:
    """The listings (negativações) of the agreement's debts, listed or being removed."""
    async with db.session(Scope.system()) as session:
        rows = await session.scalars(
            select(Escalation)
            .join(AgreementDebt, AgreementDebt.debt_id == Escalation.debt_id)
            .where(
                AgreementDebt.agreement_id == agreement_id,
                Escalation.kind == EscalationKind.NEGATIVACAO,
                Escalation.status.in_(
                    [EscalationStatus.LISTED, EscalationStatus.REMOVAL_REQUESTED]
                ),
            )
        )
        return [
            NameStatus(EscalationStatus(e.status), e.listed_on, e.removal_requested_on)
            for e in rows
        ]
