"""Re-imports and agreements (issue 16 item 2): a file that changes a debt under an open
agreement is never silently ignored.

Inside the import's transaction, after the file is in the staging table: every debt of
the portfolio under an open agreement whose balance in the file differs (lower or higher)
or that the file no longer has (the creditor settled it: imports treat a missing contract
as settled) is named in the summary with what is done (docs/POLICY.md, "Re-imports and
agreements"):

- lower balance or missing contract: the agreement's total shrinks in the proportion its
  debts lost, the payments so far count against it and the unpaid installments share the
  rest (``collection.domain.reimport.reduce_agreement``); paid beyond the new total is
  held on the debt to be refunded; the debt takes the file's balance, or is marked settled
  by the creditor. When nothing remains to pay the agreement ends: cancelled with reason
  ``creditor_settled`` when no debt of it remains, else paid (and its debts with it);
- higher balance: nothing changes; the row is listed for the creditor's review.

Every change is a row of ``agreement_reimports`` (who, when, old and new amounts) and an
audit line. A retry finds the debts already at the file's values, so it changes nothing
again; a higher balance is recorded once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, String, bindparam, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import BigInteger, Integer, Uuid

from collection.domain.agreements import AgreementStatus
from collection.domain.reimport import ReimportAction, ReimportChange, classify, reduce_agreement
from collection.models import (
    Agreement,
    AgreementDebt,
    AgreementInstallment,
    AgreementReimport,
    Debt,
    DebtItem,
    DebtStatus,
    Payment,
    PaymentStatus,
)
from tenants.services import audit
from tenants.services.audit import Actor

# English msgids (translated where shown) for each change and action.
REIMPORT_LABELS = {
    ReimportChange.LOWER.value: "Lower balance",
    ReimportChange.HIGHER.value: "Higher balance",
    ReimportChange.MISSING.value: "Missing from the file (settled by the creditor)",
    ReimportAction.RECALCULATED.value: "Remaining installments reduced pro rata",
    ReimportAction.CLOSED.value: "Agreement ended: nothing remains to pay",
    ReimportAction.FLAGGED.value: "Agreement unchanged; listed for review",
}
OPEN_AGREEMENTS = tuple(s.value for s in AgreementStatus if s.is_open)
CREDITOR_SETTLED = "creditor_settled"

_FOUND = """
    SELECT d.id AS debt_id, ad.agreement_id AS agreement_id, d.contract AS contract,
           d.original_amount AS old_amount, c.amount AS new_amount
    FROM debts d
    JOIN agreement_debts ad ON ad.debt_id = d.id
    JOIN agreements a ON a.id = ad.agreement_id
    LEFT JOIN (SELECT contract, SUM(amount) AS amount FROM import_staging
               GROUP BY contract) c ON c.contract = d.contract
    WHERE d.tenant_id = :tenant AND d.portfolio_id = :portfolio
      AND d.status = 'in_agreement' AND a.tenant_id = :tenant AND a.status IN :open
      AND (c.amount IS NULL OR c.amount <> d.original_amount)
    ORDER BY d.contract, ad.agreement_id"""


@dataclass(frozen=True, slots=True)
class AgreementRow:
    """One contract under an open agreement that the file changes."""

    contract: str
    agreement_id: str
    debt_id: str
    change: str  # ReimportChange
    old_amount: int
    new_amount: int  # 0 when missing
    action: str  # ReimportAction
    open_before: int = 0
    open_after: int = 0
    to_refund: int = 0  # paid beyond the agreement's new total: to give back

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def changed_under_agreements(
    session: AsyncSession, tenant_id: uuid.UUID, portfolio_id: uuid.UUID
) -> list[AgreementRow]:
    """What the file in ``import_staging`` changes under open agreements, and the effect
    (the same for the preview and the import)."""
    statement = (
        text(_FOUND)
        .bindparams(
            bindparam("tenant", type_=Uuid()),
            bindparam("portfolio", type_=Uuid()),
            bindparam("open", expanding=True),
        )
        .columns(
            debt_id=Uuid(),
            agreement_id=Uuid(),
            contract=String(),
            old_amount=BigInteger(),
            new_amount=BigInteger(),
        )
    )
    found = (
        await session.execute(
            statement, {"tenant": tenant_id, "portfolio": portfolio_id, "open": OPEN_AGREEMENTS}
        )
    ).all()
    by_agreement: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in found:
        by_agreement[row.agreement_id].append(row)
    rows: list[AgreementRow] = []
    for agreement_id, changes in by_agreement.items():
        plan = await _plan(session, agreement_id, changes)
        rows.extend(plan)
    rows.sort(key=lambda r: (r.contract, r.agreement_id))
    return rows


async def _plan(
    session: AsyncSession, agreement_id: uuid.UUID, changes: Sequence[Any]
) -> list[AgreementRow]:
    """The effect on one agreement of the changes of its debts."""
    old_value = await _debts_value(session, agreement_id)
    new_value = old_value
    kinds: list[tuple[Any, ReimportChange]] = []
    for row in changes:
        change = classify(
            int(row.old_amount), None if row.new_amount is None else int(row.new_amount)
        )
        if change is None:
            continue
        kinds.append((row, change))
        if change is not ReimportChange.HIGHER:
            new_value -= int(row.old_amount) - int(row.new_amount or 0)
    installments = await _installment_amounts(session, agreement_id)
    open_before = sum(max(amount - paid, 0) for amount, paid in installments)
    reduced = reduce_agreement(installments, old_value, new_value)
    result = []
    for row, change in kinds:
        if change is ReimportChange.HIGHER:
            action = ReimportAction.FLAGGED
        elif reduced.remaining == 0:
            action = ReimportAction.CLOSED
        else:
            action = ReimportAction.RECALCULATED
        result.append(
            AgreementRow(
                contract=row.contract,
                agreement_id=str(agreement_id),
                debt_id=str(row.debt_id),
                change=change.value,
                old_amount=int(row.old_amount),
                new_amount=int(row.new_amount or 0),
                action=action.value,
                open_before=open_before,
                open_after=reduced.remaining,
                to_refund=0 if change is ReimportChange.HIGHER else reduced.to_refund,
            )
        )
    return result


async def _installment_amounts(
    session: AsyncSession, agreement_id: uuid.UUID
) -> list[tuple[int, int]]:
    rows = await session.execute(
        select(AgreementInstallment.amount, AgreementInstallment.paid)
        .where(AgreementInstallment.agreement_id == agreement_id)
        .order_by(AgreementInstallment.number)
    )
    return [(amount, paid) for amount, paid in rows.all()]


async def apply_to_agreements(
    session: AsyncSession,
    rows: Sequence[AgreementRow],
    *,
    actor_id: uuid.UUID | None,
    tenant_id: uuid.UUID,
    today: date,
) -> None:
    """Carry the planned effect out (in the import's transaction)."""
    actor = Actor(actor_id, "importação de carteira", "", tenant_id)
    by_agreement: dict[str, list[AgreementRow]] = defaultdict(list)
    for row in rows:
        by_agreement[row.agreement_id].append(row)
    for agreement_key, changes in by_agreement.items():
        agreement = await session.get_one(Agreement, uuid.UUID(agreement_key))
        recorded = [r for r in changes if not await _already_recorded(session, r)]
        if not recorded:
            continue
        reducing = [r for r in recorded if r.change != ReimportChange.HIGHER.value]
        if reducing:
            await _reduce(session, agreement, reducing, today)
        for row in recorded:
            await _record(session, row, actor, actor_id)
    await session.flush()


async def reimport_agreements(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    portfolio_id: uuid.UUID,
    *,
    actor_id: uuid.UUID | None,
    today: date,
    dry_run: bool,
) -> list[dict[str, Any]]:
    """Name (and, for a real import, carry out) what the file does to open agreements.
    Runs while the staging table is there, before the import's own statements."""
    rows = await changed_under_agreements(session, tenant_id, portfolio_id)
    if rows and not dry_run:
        await apply_to_agreements(
            session, rows, actor_id=actor_id, tenant_id=tenant_id, today=today
        )
    return [row.as_dict() for row in rows]


async def _already_recorded(session: AsyncSession, row: AgreementRow) -> bool:
    found = await session.scalar(
        select(AgreementReimport.id).where(
            AgreementReimport.agreement_id == uuid.UUID(row.agreement_id),
            AgreementReimport.debt_id == uuid.UUID(row.debt_id),
            AgreementReimport.change == row.change,
            AgreementReimport.new_amount == row.new_amount,
        )
    )
    return found is not None


async def _reduce(
    session: AsyncSession, agreement: Agreement, rows: Sequence[AgreementRow], today: date
) -> None:
    """Debts take the file's values; the unpaid installments shrink pro rata."""
    installments = (
        await session.scalars(
            select(AgreementInstallment)
            .where(AgreementInstallment.agreement_id == agreement.id)
            .order_by(AgreementInstallment.number)
        )
    ).all()
    unpaid = [i for i in installments if i.amount > i.paid]
    old_value = await _debts_value(session, agreement.id)
    new_value = old_value - sum(r.old_amount - r.new_amount for r in rows)
    reduced = reduce_agreement([(i.amount, i.paid) for i in installments], old_value, new_value)
    for installment, open_amount in zip(unpaid, reduced.open_amounts, strict=True):
        installment.amount = installment.paid + open_amount
    agreement.total = sum(i.amount for i in installments)
    agreement.down_payment = next((i.amount for i in installments if i.number == 0), 0)
    for row in rows:
        await _update_debt(session, row)
    # Pix codes and boletos issued for the old amounts are not offered any more (a new one
    # is issued for the new amount); if the person pays an old one anyway, it still counts.
    await session.execute(
        update(Payment)
        .where(Payment.agreement_id == agreement.id, Payment.status == PaymentStatus.PENDING)
        .values(status=PaymentStatus.CANCELED)
        .execution_options(synchronize_session=False)
    )
    if reduced.to_refund:
        first = await session.get_one(Debt, uuid.UUID(rows[0].debt_id))
        first.to_refund += reduced.to_refund
    if reduced.remaining:
        return
    agreement.last_event_on = today
    if new_value <= 0:
        agreement.status = AgreementStatus.CANCELLED.value
        agreement.reason = CREDITOR_SETTLED
        return
    # What was paid covers the lower balance: the agreement is paid, and so are its debts.
    agreement.status = AgreementStatus.PAID.value
    await session.execute(
        update(Debt)
        .where(
            Debt.id.in_(
                select(AgreementDebt.debt_id).where(AgreementDebt.agreement_id == agreement.id)
            ),
            Debt.status == DebtStatus.IN_AGREEMENT,
        )
        .values(status=DebtStatus.PAID)
        .execution_options(synchronize_session="fetch")
    )


async def _debts_value(session: AsyncSession, agreement_id: uuid.UUID) -> int:
    """The balance of the agreement's debts still under it (before this import)."""
    amounts = (
        await session.scalars(
            select(Debt.original_amount)
            .join(AgreementDebt, AgreementDebt.debt_id == Debt.id)
            .where(
                AgreementDebt.agreement_id == agreement_id,
                Debt.status == DebtStatus.IN_AGREEMENT,
            )
        )
    ).all()
    return sum(amounts)


_FILE_ITEMS = """
    SELECT installment, due_date, amount FROM import_staging WHERE contract = :contract
    ORDER BY installment"""


async def _update_debt(session: AsyncSession, row: AgreementRow) -> None:
    debt = await session.get_one(Debt, uuid.UUID(row.debt_id))
    if row.change == ReimportChange.MISSING.value:
        debt.status = DebtStatus.REGULARIZED
        return
    statement = text(_FILE_ITEMS).columns(
        installment=Integer(), due_date=Date(), amount=BigInteger()
    )
    items = (await session.execute(statement, {"contract": row.contract})).all()
    await session.execute(
        delete(DebtItem)
        .where(DebtItem.debt_id == debt.id)
        .execution_options(synchronize_session=False)
    )
    for item in items:
        session.add(
            DebtItem(
                debt_id=debt.id,
                number=item.installment,
                due_date=item.due_date,
                amount=item.amount,
                tenant_id=debt.tenant_id,
            )
        )
    debt.original_amount = row.new_amount
    debt.due_date = min(item.due_date for item in items)


async def _record(
    session: AsyncSession, row: AgreementRow, actor: Actor, actor_id: uuid.UUID | None
) -> None:
    session.add(
        AgreementReimport(
            agreement_id=uuid.UUID(row.agreement_id),
            debt_id=uuid.UUID(row.debt_id),
            contract=row.contract,
            change=row.change,
            action=row.action,
            old_amount=row.old_amount,
            new_amount=row.new_amount,
            open_before=row.open_before,
            open_after=row.open_after,
            actor_id=actor_id,
        )
    )
    audit.record(
        session,
        actor,
        "agreement.reimport",
        target=row.agreement_id,
        details={
            "contract": row.contract,
            "change": row.change,
            "action": row.action,
            "old_amount": row.old_amount,
            "new_amount": row.new_amount,
            "open_before": row.open_before,
            "open_after": row.open_after,
            "to_refund": row.to_refund,
        },
    )


async def recent_changes(
    session: AsyncSession, limit: int = 50
) -> Sequence[tuple[AgreementReimport, uuid.UUID]]:
    """What re-imports did to agreements, newest first, with the person's id (the portal's
    review list on the imports page)."""
    rows = await session.execute(
        select(AgreementReimport, Agreement.debtor_id)
        .join(Agreement, Agreement.id == AgreementReimport.agreement_id)
        .order_by(AgreementReimport.created_at.desc())
        .limit(limit)
    )
    return [(change, debtor_id) for change, debtor_id in rows.all()]
