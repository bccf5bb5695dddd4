"""The person's papers (issue 25 item 7): the agreement's terms with its number and the
contracts it settles, a receipt for every confirmed payment and the declaração de
quitação of a settled agreement, each as a page, a PDF and an e-mail.

Documents are read again from the rows each time (nothing is stored but the facts), so
the page, the PDF and the e-mail always agree.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain.agreements import AgreementStatus
from collection.domain.documents import format_cnpj, mask_cpf
from collection.models import (
    Agreement,
    AgreementDebt,
    Debt,
    Debtor,
    Payment,
    PaymentMethod,
    PaymentPurpose,
    PaymentStatus,
)
from collection.paperwork.person_mail import person_email
from collection.paperwork.receipts_pdf import (
    Creditor,
    Quitacao,
    Receipt,
    quitacao_pdf,
    quitacao_text,
    receipt_pdf,
)
from collection.paperwork.terms_pdf import agreement_pdf, missed_payment_text, quitacao_clause
from core.db import Database, Scope
from core.i18n import brl, local_date
from core.i18n import gettext as _
from core.mail import queue_email
from tenants.models import Tenant


@dataclass(frozen=True, slots=True)
class AgreementPapers:
    """What the terms page and PDF add to the agreement: who, which contracts, and
    what a missed payment and the last payment lead to."""

    number: str
    debtor_name: str
    masked_cpf: str
    contracts: tuple[str, ...]
    missed_payment: str
    quitacao_clause: str


def creditor_of(tenant: Tenant) -> Creditor:
    return Creditor(tenant.legal_name, format_cnpj(tenant.cnpj), tenant.address)


def method_label(method: PaymentMethod) -> str:
    return {PaymentMethod.PIX: "Pix", PaymentMethod.BOLETO: "Boleto"}.get(method, _("Card"))


def installment_label(number: int) -> str:
    return _("Down payment") if number == 0 else _("Installment %(n)s") % {"n": number}


async def contracts_of(session: AsyncSession, agreement_id: uuid.UUID) -> tuple[str, ...]:
    """The contracts an agreement settles, in contract order."""
    rows = await session.scalars(
        select(Debt.contract)
        .join(AgreementDebt, AgreementDebt.debt_id == Debt.id)
        .where(AgreementDebt.agreement_id == agreement_id)
        .order_by(Debt.contract)
    )
    return tuple(rows.all())


async def _papers(session: AsyncSession, agreement: Agreement, tenant: Tenant) -> AgreementPapers:
    debtor = await session.get_one(Debtor, agreement.debtor_id)
    return AgreementPapers(
        number=agreement.number or "",
        debtor_name=debtor.name,
        masked_cpf=mask_cpf(debtor.cpf),
        contracts=await contracts_of(session, agreement.id),
        missed_payment=missed_payment_text(agreement.grace_days),
        quitacao_clause=quitacao_clause(tenant.legal_name),
    )


async def agreement_papers(db: Database, agreement: Agreement, tenant: Tenant) -> AgreementPapers:
    """The papers of an agreement already found for the verified person."""
    async with db.session(Scope.tenant(agreement.tenant_id)) as session:
        return await _papers(session, agreement, tenant)


async def terms_document(db: Database, agreement: Agreement, tenant: Tenant) -> bytes:
    """The terms PDF of an agreement already found for the verified person."""
    papers = await agreement_papers(db, agreement, tenant)
    return agreement_pdf(
        agreement,
        tenant,
        papers.debtor_name,
        masked_cpf=papers.masked_cpf,
        contracts=papers.contracts,
    )


def _receipt(payment: Payment, agreement: Agreement, tenant: Tenant, debtor: Debtor) -> Receipt:
    assert payment.paid_on is not None  # only confirmed payments get receipts
    return Receipt(
        reference=f"{agreement.number or ''}-{payment.id.hex[:8].upper()}".lstrip("-"),
        creditor=creditor_of(tenant),
        debtor_name=debtor.name,
        masked_cpf=mask_cpf(debtor.cpf),
        agreement_number=agreement.number or "",
        installment=(
            _("Early payoff (everything that remains, at today's value)")
            if payment.purpose is PaymentPurpose.PAYOFF
            else installment_label(payment.installment_number)
        ),
        method=method_label(payment.method),
        amount=payment.amount,
        paid_on=payment.paid_on,
    )


async def _quitacao(session: AsyncSession, agreement: Agreement, tenant: Tenant) -> Quitacao:
    debtor = await session.get_one(Debtor, agreement.debtor_id)
    paid = await session.scalars(
        select(Payment).where(
            Payment.agreement_id == agreement.id, Payment.status == PaymentStatus.SUCCEEDED
        )
    )
    payments = list(paid.all())
    last = max((p.paid_on for p in payments if p.paid_on), default=None)
    return Quitacao(
        creditor=creditor_of(tenant),
        debtor_name=debtor.name,
        masked_cpf=mask_cpf(debtor.cpf),
        agreement_number=agreement.number or "",
        contracts=await contracts_of(session, agreement.id),
        total_paid=sum(p.amount - p.refunded for p in payments),
        settled_on=last or agreement.last_event_on or agreement.accepted_on,
    )


async def _of_person(
    session: AsyncSession, cpf_hash: str, agreement_id: uuid.UUID, tenants: Collection[uuid.UUID]
) -> tuple[Agreement, Tenant, Debtor] | None:
    row = (
        await session.execute(
            select(Agreement, Tenant, Debtor)
            .join(Debtor, Debtor.id == Agreement.debtor_id)
            .join(Tenant, Tenant.id == Agreement.tenant_id)
            .where(
                Agreement.id == agreement_id,
                Debtor.cpf_hash == cpf_hash,
                Agreement.tenant_id.in_(list(tenants)),
            )
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


async def receipt_of_person(
    db: Database,
    cpf_hash: str,
    agreement_id: uuid.UUID,
    payment_id: uuid.UUID,
    *,
    tenants: Collection[uuid.UUID],
) -> Receipt | None:
    """The receipt of a confirmed payment of this person's agreement, or None (not
    theirs, or not confirmed)."""
    async with db.session(Scope.system()) as session:
        found = await _of_person(session, cpf_hash, agreement_id, tenants)
        if found is None:
            return None
        agreement, tenant, debtor = found
        payment = await session.scalar(
            select(Payment).where(
                Payment.id == payment_id,
                Payment.agreement_id == agreement.id,
                Payment.status == PaymentStatus.SUCCEEDED,
            )
        )
        return None if payment is None else _receipt(payment, agreement, tenant, debtor)


async def quitacao_of_person(
    db: Database, cpf_hash: str, agreement_id: uuid.UUID, *, tenants: Collection[uuid.UUID]
) -> Quitacao | None:
    """The declaração de quitação of this person's agreement once it is paid, or None."""
    async with db.session(Scope.system()) as session:
        found = await _of_person(session, cpf_hash, agreement_id, tenants)
        if found is None or found[0].status != AgreementStatus.PAID.value:
            return None
        return await _quitacao(session, found[0], found[1])


async def payment_confirmed(
    session: AsyncSession, agreement: Agreement, payment: Payment, *, settled: bool
) -> None:
    """E-mail the receipt of a payment just confirmed and, when it ``settled`` the
    agreement, the declaração de quitação (in the same unit of work: sent once, after
    commit, like the payment itself)."""
    debtor = await session.get_one(Debtor, agreement.debtor_id)
    tenant = await session.get_one(Tenant, agreement.tenant_id)
    to = await person_email(session, debtor.id)
    if to is None:
        return
    receipt = _receipt(payment, agreement, tenant, debtor)
    queue_email(
        session,
        to=to,
        template="payment_receipt",
        context={
            "name": debtor.name,
            "creditor": tenant.legal_name,
            "cnpj": receipt.creditor.cnpj,
            "number": receipt.agreement_number,
            "reference": receipt.reference,
            "installment": receipt.installment,
            "method": receipt.method,
            "amount": brl(receipt.amount),
            "date": local_date(receipt.paid_on),
        },
        attachment=("recibo.pdf", receipt_pdf(receipt)),
    )
    if not settled:
        return
    quitacao = await _quitacao(session, agreement, tenant)
    queue_email(
        session,
        to=to,
        template="agreement_quitacao",
        context={
            "name": debtor.name,
            "creditor": tenant.legal_name,
            "number": quitacao.agreement_number,
            "declaration": quitacao_text(quitacao),
        },
        attachment=("declaracao-de-quitacao.pdf", quitacao_pdf(quitacao)),
    )
