"""Installments charged as a Pix with a due date (cobv): which charge an installment
gets, and what the amount actually paid settles (``collection.domain.due_charge``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from collection.debtor.page import policy_of
from collection.domain import due_charge as dc
from collection.domain.agreements import Agreement as Terms
from collection.domain.agreements import PaymentReceipt
from collection.models import Agreement, Payment
from tenants.models import Tenant


def due_charge_of(
    agreement: Agreement, tenant: Tenant, number: int, today: date
) -> dc.DueCharge | None:
    """The cobv of installment ``number`` issued ``today``: its open amount due on its
    date, the creditor's contractual late fee (≤ 2%) and late interest (none when the
    contract sets none: the legal rate changes monthly and a charge holds one rate), the
    plan's discount for paying early, payable through the grace days. None when the
    installment is already overdue (the API refuses a due date in the past; a plain
    Pix of the open amount is issued instead)."""
    item = next((i for i in agreement.installments if i.number == number), None)
    if item is None or item.due_date < today:
        return None
    charges = policy_of(tenant).charges
    return dc.due_charge_for(
        item.amount - item.paid - item.waived,
        item.due_date,
        issued_on=today,
        plan_rate=Decimal(agreement.monthly_rate),
        fine_rate=charges.late_fee_rate,
        interest_monthly=charges.late_interest_monthly or Decimal(0),
        grace_days=agreement.grace_days,
    )


def settle_due(terms: Terms, payment: Payment, paid: int, on: date) -> PaymentReceipt:
    """Apply what the person's bank paid for a cobv: late fee and interest first (kept on
    the payment, not on the installment), then the installment, with the early-payment
    discount waived when the amount asked that day arrived."""
    assert payment.due_charge is not None
    charge = dc.from_record(payment.due_charge)
    settled = dc.split(charge, paid, on)
    payment.received = paid
    payment.late_charges = settled.charges
    if settled.principal <= 0:
        return PaymentReceipt(paid, on, (), 0, terms.status)
    return terms.receive_with_discount(
        settled.principal, settled.waived, on, payment.installment_number
    )


def itemised(payment: Payment) -> dc.Itemised | None:
    """What the person sees of a Pix with a due date (every amount itemised), or None."""
    if payment.due_charge is None:
        return None
    return dc.itemise(dc.from_record(payment.due_charge))
