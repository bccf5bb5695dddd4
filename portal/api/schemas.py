"""The API's documents: what a client sends and what it gets back (msgspec Structs).

Money is integer centavos, dates ISO 8601, instants RFC 3339 in UTC. A CPF is accepted
with or without punctuation; in answers it is the 11 digits: the tenant gave it to us
and owns its debtors' data, so its own systems get it whole (nothing else does).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from collection.models import (
    Agreement,
    Debt,
    ImportJob,
    Message,
    Payment,
)
from collection.payments.service import payoff_of

Cents = Annotated[int, Meta(gt=0, le=10**13, description="Amount in centavos")]
Text = Annotated[str, Meta(max_length=300)]


class InstallmentIn(msgspec.Struct, forbid_unknown_fields=True):
    number: Annotated[int, Meta(ge=1, le=999)]
    due_date: date
    amount: Cents


class DebtorIn(msgspec.Struct, forbid_unknown_fields=True):
    cpf: Annotated[str, Meta(min_length=1, max_length=20, description="With or without dots")]
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    birth_date: date | None = None
    email: Annotated[str, Meta(max_length=254)] | None = None
    phone: Annotated[str, Meta(max_length=40)] | None = None
    address: Text | None = None
    city: Annotated[str, Meta(max_length=100)] | None = None
    state: Annotated[str, Meta(max_length=30)] | None = None
    zip_code: Annotated[str, Meta(max_length=12)] | None = None


Installments = Annotated[list[InstallmentIn], Meta(min_length=1, max_length=360)]


class DebtIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new debt: one contract of one debtor with its overdue installments."""

    contract: Annotated[str, Meta(min_length=1, max_length=60)]
    debtor: DebtorIn
    installments: Installments
    product: Annotated[str, Meta(max_length=120)] | None = None
    portfolio: Annotated[str, Meta(max_length=120)] | None = None


class DebtPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a debt; what is left out stays as it is. ``installments`` replaces the
    whole list. ``regularized`` records a debt settled outside Quita."""

    product: Annotated[str, Meta(max_length=120)] | None = None
    installments: Installments | None = None
    status: Literal["open", "regularized", "written_off"] | None = None


class InstallmentOut(msgspec.Struct):
    number: int
    due_date: date
    amount: int


class DebtorOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    cpf: str
    birth_date: date | None


class DebtOut(msgspec.Struct):
    id: uuid.UUID
    contract: str
    product: str
    portfolio: str
    status: str
    original_amount: int
    due_date: date
    created_at: datetime
    debtor: DebtorOut
    installments: list[InstallmentOut]
    # Centavos received against the debt through agreements that ended (deducted from
    # what it owes), and what was received beyond everything owed, to refund.
    paid: int = 0
    to_refund: int = 0
    # The last change of the debt or its installments (incremental sync: updated_since).
    updated_at: datetime | None = None


class DebtPage(msgspec.Struct):
    items: list[DebtOut]
    next_cursor: str | None


def debt_out(debt: Debt) -> DebtOut:
    return DebtOut(
        id=debt.id,
        contract=debt.contract,
        product=debt.product,
        portfolio=debt.portfolio.name,
        status=debt.status.value,
        original_amount=debt.original_amount,
        due_date=debt.due_date,
        created_at=debt.created_at,
        debtor=DebtorOut(
            id=debt.debtor.id,
            name=debt.debtor.name,
            cpf=debt.debtor.cpf,
            birth_date=debt.debtor.birth_date,
        ),
        installments=[InstallmentOut(i.number, i.due_date, i.amount) for i in debt.items],
        paid=debt.paid,
        to_refund=debt.to_refund,
        updated_at=debt.updated_at,
    )


class AgreementInstallmentOut(msgspec.Struct):
    number: int
    due_date: date
    amount: int
    paid: int
    waived: int = 0  # interest given up by an early payoff (CDC art. 52 §2)


class AgreementOut(msgspec.Struct):
    id: uuid.UUID
    debtor_id: uuid.UUID
    debt_ids: list[uuid.UUID]
    kind: str
    status: str
    offer_code: str
    balance: int
    discount: int
    total: int
    down_payment: int
    monthly_rate: str
    cet_yearly: str
    accepted_on: date
    broken_on: date | None
    credit: int
    created_at: datetime
    installments: list[AgreementInstallmentOut]
    # Paid beyond a settled agreement: the creditor gives it back (the credit of a broken
    # or cancelled agreement goes to its debts instead).
    to_refund: int = 0
    updated_at: datetime | None = None  # last change, its installments' included
    # What settles everything on ``payoff_on`` (today, São Paulo): the present value of
    # what remains at the plan's rate (CDC art. 52 §2); null when the agreement is closed.
    payoff_amount: int | None = None
    payoff_on: date | None = None


class AgreementPage(msgspec.Struct):
    items: list[AgreementOut]
    next_cursor: str | None


def agreement_out(agreement: Agreement, debt_ids: list[uuid.UUID], today: date) -> AgreementOut:
    payoff = payoff_of(agreement, today)
    return AgreementOut(
        id=agreement.id,
        debtor_id=agreement.debtor_id,
        debt_ids=debt_ids,
        kind=agreement.kind,
        status=agreement.status,
        offer_code=agreement.offer_code,
        balance=agreement.balance,
        discount=agreement.discount,
        total=agreement.total,
        down_payment=agreement.down_payment,
        monthly_rate=agreement.monthly_rate,
        cet_yearly=agreement.cet_yearly,
        accepted_on=agreement.accepted_on,
        broken_on=agreement.broken_on,
        credit=agreement.credit,
        created_at=agreement.created_at,
        installments=[
            AgreementInstallmentOut(i.number, i.due_date, i.amount, i.paid, i.waived)
            for i in agreement.installments
        ],
        to_refund=agreement.credit if agreement.status == "paid" else 0,
        updated_at=agreement.updated_at,
        payoff_amount=payoff,
        payoff_on=today if payoff is not None else None,
    )


class PaymentOut(msgspec.Struct):
    id: uuid.UUID
    agreement_id: uuid.UUID
    installment_number: int
    method: str
    amount: int
    status: str
    paid_on: date | None
    failure: str
    created_at: datetime
    refunded: int = 0  # refunded so far: a succeeded payment counts for amount - refunded
    updated_at: datetime | None = None  # last change (status, refund)
    purpose: str = "installment"  # or "payoff": everything that remained, at present value


class PaymentPage(msgspec.Struct):
    items: list[PaymentOut]
    next_cursor: str | None


def payment_out(p: Payment) -> PaymentOut:
    return PaymentOut(
        id=p.id,
        agreement_id=p.agreement_id,
        installment_number=p.installment_number,
        method=p.method.value,
        amount=p.amount,
        status=p.status.value,
        paid_on=p.paid_on,
        failure=p.failure,
        created_at=p.created_at,
        refunded=p.refunded,
        updated_at=p.updated_at,
        purpose=p.purpose.value,
    )


class MessageOut(msgspec.Struct):
    id: uuid.UUID
    debtor_id: uuid.UUID
    debt_id: uuid.UUID | None
    agreement_id: uuid.UUID | None
    channel: str
    status: str
    rule: str
    planned_for: date
    send_after: datetime
    sent_at: datetime | None
    subject: str
    body: str
    created_at: datetime


class MessagePage(msgspec.Struct):
    items: list[MessageOut]
    next_cursor: str | None


def message_out(m: Message) -> MessageOut:
    return MessageOut(
        id=m.id,
        debtor_id=m.debtor_id,
        debt_id=m.debt_id,
        agreement_id=m.agreement_id,
        channel=m.channel.value,
        status=m.status.value,
        rule=m.rule,
        planned_for=m.planned_for,
        send_after=m.send_after,
        sent_at=m.sent_at,
        subject=m.subject,
        body=m.body,
        created_at=m.created_at,
    )


class RowIssueOut(msgspec.Struct):
    line: int
    field: str
    reason: str


class AgreementChangeOut(msgspec.Struct):
    """A debt under an open agreement that the file changes, and what is done (issue 16
    item 2): change ``lower`` | ``higher`` | ``missing``; action ``recalculated`` |
    ``closed`` | ``flagged``; amounts in centavos (``open_*``: unpaid on the agreement;
    ``to_refund``: paid beyond the agreement's new total, held on the debt to give back)."""

    contract: str
    agreement_id: str
    change: str
    action: str
    old_amount: int
    new_amount: int
    open_before: int
    open_after: int
    to_refund: int = 0


class ImportSummaryOut(msgspec.Struct):
    dry_run: bool
    accepted: int
    created: int
    updated: int
    settled: int
    rejected_total: int
    warnings_total: int
    rejected: list[RowIssueOut]
    warnings: list[RowIssueOut]
    agreements: list[AgreementChangeOut] = []


class ImportJobOut(msgspec.Struct):
    id: uuid.UUID
    status: str
    filename: str
    portfolio: str
    progress: int
    rows_read: int
    error: str
    created_at: datetime
    finished_at: datetime | None
    summary: ImportSummaryOut | None


def _issues(items: Any) -> list[RowIssueOut]:
    if not isinstance(items, list):
        return []
    return [
        RowIssueOut(int(i.get("line", 0)), str(i.get("field", "")), str(i.get("reason", "")))
        for i in items
        if isinstance(i, dict)
    ]


def import_job_out(job: ImportJob) -> ImportJobOut:
    raw = job.result or job.preview
    summary = None
    if raw:
        summary = ImportSummaryOut(
            dry_run=bool(raw.get("dry_run", job.result is None)),
            accepted=int(raw.get("accepted", 0)),
            created=int(raw.get("created", 0)),
            updated=int(raw.get("updated", 0)),
            settled=int(raw.get("settled", 0)),
            rejected_total=int(raw.get("rejected_total", 0)),
            warnings_total=int(raw.get("warnings_total", 0)),
            rejected=_issues(raw.get("rejected")),
            warnings=_issues(raw.get("warnings")),
            agreements=[
                AgreementChangeOut(
                    **{k: a[k] for k in AgreementChangeOut.__struct_fields__ if k in a}
                )
                for a in raw.get("agreements", [])
            ],
        )
    return ImportJobOut(
        id=job.id,
        status=job.status.value,
        filename=job.filename,
        portfolio=job.portfolio_name,
        progress=job.progress,
        rows_read=job.rows_read,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
        summary=summary,
    )


class PolicyIn(msgspec.Struct, forbid_unknown_fields=True):
    """A negotiation policy file (docs/POLICY.md)."""

    toml: Annotated[str, Meta(min_length=1, max_length=100_000)]


class PolicyOut(msgspec.Struct):
    toml: str
    is_default: bool
