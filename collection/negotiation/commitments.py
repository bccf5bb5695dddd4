"""What a person already pays each month on their agreements at Quita, and the mínimo
existencial check an acceptance makes across all of them (Decreto 11.567/2023).

The income a person tells on the budget page ("o plano que cabe") travels with the offer
they accept and is kept on the agreement (``Agreement.declared_income``). When a person
accepts an offer, the income they told now (or, if they told none now, the last one kept
on one of their open agreements) is checked against every open agreement of theirs at
the creditors they proved in this session: income − their other agreements' monthly
payments − this offer's largest payment must stay at or above the mínimo existencial.
Only proven creditors count, so the answer never reveals an agreement at a creditor the
person has not proved their identity for.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select

from collection.domain.agreements import AgreementStatus
from collection.models import Agreement, AgreementInstallment, Debtor
from core.db import Database, Scope

OPEN_STATUSES = tuple(s.value for s in AgreementStatus if s.is_open)


@dataclass(frozen=True, slots=True)
class Commitments:
    """The person's monthly payments on open agreements, and the last income they told."""

    monthly: int  # centavos: the largest unpaid installment of each open agreement, summed
    last_income: int | None


async def commitments(db: Database, cpf_hash: str, tenants: Collection[uuid.UUID]) -> Commitments:
    """Across the proven creditors ``tenants``: what the person pays a month already."""
    if not tenants:
        return Commitments(0, None)
    async with db.session(Scope.system()) as session:
        open_agreements = (
            select(Agreement.id, Agreement.declared_income, Agreement.created_at)
            .join(Debtor, Debtor.id == Agreement.debtor_id)
            .where(
                Debtor.cpf_hash == cpf_hash,
                Debtor.tenant_id.in_(list(tenants)),
                Agreement.status.in_(OPEN_STATUSES),
            )
        )
        rows = (await session.execute(open_agreements)).all()
        if not rows:
            return Commitments(0, None)
        largest = (
            select(func.max(AgreementInstallment.amount))
            .where(
                AgreementInstallment.agreement_id.in_([r[0] for r in rows]),
                AgreementInstallment.number >= 1,  # the monthly ones, not the down payment
                AgreementInstallment.paid < AgreementInstallment.amount,
            )
            .group_by(AgreementInstallment.agreement_id)
        )
        monthly = sum(int(x) for x in (await session.scalars(largest)).all() if x)
    told = [(r[2], r[1]) for r in rows if r[1] is not None]
    return Commitments(monthly, max(told)[1] if told else None)
