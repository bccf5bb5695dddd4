"""The parts of a person's data copy (LGPD art. 18, II) beyond the register and the debts:
what was paid, the installments agreed, the messages sent, the calls, notes and promises
staff recorded, the escalation steps and the visits to the debtor site.

Staff authors are not named (their own personal data); what they wrote about the person
is. Money in centavos, moments in ISO 8601 with their offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.models import (
    Agreement,
    AgreementInstallment,
    CaseEntry,
    Debt,
    Escalation,
    Message,
    Payment,
    SiteVisit,
)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def _payments(session: AsyncSession, agreement_ids: list[Any]) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(Payment).where(Payment.agreement_id.in_(agreement_ids)).order_by(Payment.created_at)
    )
    return [
        {
            "agreement_id": str(p.agreement_id),
            "installment": p.installment_number,
            "method": p.method.value,
            "amount_centavos": p.amount,
            "status": p.status.value,
            "paid_on": _iso(p.paid_on),
            "refunded_centavos": p.refunded,
            "created_at": _iso(p.created_at),
        }
        for p in rows
    ]


async def _installments(session: AsyncSession, agreement_ids: list[Any]) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(AgreementInstallment)
        .where(AgreementInstallment.agreement_id.in_(agreement_ids))
        .order_by(AgreementInstallment.agreement_id, AgreementInstallment.number)
    )
    return [
        {
            "agreement_id": str(i.agreement_id),
            "number": i.number,
            "due_date": _iso(i.due_date),
            "amount_centavos": i.amount,
            "paid_centavos": i.paid,
        }
        for i in rows
    ]


async def _messages(session: AsyncSession, debtor_id: Any) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(Message).where(Message.debtor_id == debtor_id).order_by(Message.created_at)
    )
    return [
        {
            "channel": m.channel.value,
            "status": m.status.value,
            "planned_for": _iso(m.planned_for),
            "sent_at": _iso(m.sent_at),
            "subject": m.subject,
            "text": m.body,
        }
        for m in rows
    ]


async def _staff_entries(session: AsyncSession, debtor_id: Any) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(CaseEntry).where(CaseEntry.debtor_id == debtor_id).order_by(CaseEntry.at)
    )
    return [
        {
            "kind": e.kind.value,
            "at": _iso(e.at),
            "text": e.text,
            "call_outcome": e.call_outcome or None,
            "promised_centavos": e.promised_amount,
            "promised_on": _iso(e.promised_on),
            "promise_status": e.promise_status or None,
        }
        for e in rows
    ]


async def _escalations(session: AsyncSession, debt_ids: list[Any]) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(Escalation).where(Escalation.debt_id.in_(debt_ids)).order_by(Escalation.created_at)
    )
    return [
        {
            "debt_id": str(x.debt_id),
            "kind": x.kind.value,
            "status": x.status,
            "amount_centavos": x.amount,
            "listed_on": _iso(x.listed_on),
            "removal_requested_on": _iso(x.removal_requested_on),
            "created_at": _iso(x.created_at),
        }
        for x in rows
    ]


async def _visits(session: AsyncSession, debtor_id: Any) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(SiteVisit).where(SiteVisit.debtor_id == debtor_id).order_by(SiteVisit.at)
    )
    return [{"what": v.what, "at": _iso(v.at)} for v in rows]


async def activity_sections(
    session: AsyncSession,
    debtor_id: Any,
    debts: Sequence[Debt],
    agreements: Sequence[Agreement],
) -> dict[str, list[dict[str, Any]]]:
    """The person's activity at one creditor, section by section."""
    agreement_ids = [a.id for a in agreements]
    return {
        "agreement_installments": await _installments(session, agreement_ids),
        "payments": await _payments(session, agreement_ids),
        "messages": await _messages(session, debtor_id),
        "staff_records": await _staff_entries(session, debtor_id),
        "escalations": await _escalations(session, [d.id for d in debts]),
        "site_visits": await _visits(session, debtor_id),
    }
