"""The policy simulator behind ``quita offers simulate``: one amount, one due date, JSON out.

The output is ``{"valuation": {...}, "offers": [...], "notes": [...]}``: amounts in
centavos, dates as ISO strings, rates as decimal strings ("0.02"), so the JSON is exact
and the same inputs always print the same text. ``notes`` says (pt-BR) why there are no
offers when there are none.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from collection.domain.offers import Offer, describe_offer, exclusion_reason, make_offers
from collection.domain.policy import NegotiationPolicy
from collection.domain.valuation import (
    CorrectionIndex,
    Debt,
    LegalRateTable,
    Valuation,
    valuate,
)

__all__ = ["offer_to_dict", "rate_text", "simulate", "valuation_to_dict"]

SIMULATION_REFERENCE = "simulacao"


def rate_text(rate: Decimal) -> str:
    """A rate as plain decimal text without trailing zeros: ``Decimal("0.0200")`` → ``"0.02"``."""
    text = format(rate.normalize(), "f")
    return "0" if text in ("-0", "") else text


def valuation_to_dict(valuation: Valuation) -> dict[str, Any]:
    """A valuation as JSON-ready data, every part itemised in centavos."""
    return {
        "reference": valuation.reference,
        "computed_on": valuation.computed_on.isoformat(),
        "due_date": valuation.due_date.isoformat(),
        "days_late": valuation.days_late,
        "principal": valuation.principal,
        "late_fee": valuation.late_fee,
        "interest": valuation.interest,
        "correction": valuation.correction,
        "fees": valuation.fees,
        "total": valuation.total,
        "late_fee_rate": rate_text(valuation.late_fee_rate),
        "interest_basis": valuation.interest_basis,
        "interest_monthly_rate": (
            None
            if valuation.interest_monthly_rate is None
            else rate_text(valuation.interest_monthly_rate)
        ),
        "fees_rate": rate_text(valuation.fees_rate),
        "is_prescribed": valuation.is_prescribed,
        "prescribes_on": min(i.prescribes_on for i in valuation.items).isoformat(),
        "provisional": valuation.provisional,
    }


def offer_to_dict(offer: Offer) -> dict[str, Any]:
    """An offer as JSON-ready data, with its pt-BR disclosure line."""
    return {
        "code": offer.code,
        "kind": offer.kind.value,
        "total": offer.total,
        "down_payment": offer.down_payment,
        "down_payment_due_date": (
            offer.down_payment_due.isoformat() if offer.down_payment_due else None
        ),
        "installments": [
            {"number": number, "due_date": due.isoformat(), "amount": amount}
            for number, due, amount in offer.installments
        ],
        "installment_count": offer.installment_count,
        "first_due_date": offer.first_due_date.isoformat(),
        "start_date": offer.start_date.isoformat(),
        "monthly_rate": rate_text(offer.monthly_rate),
        "yearly_rate": rate_text(offer.yearly_rate),
        "cet_yearly": rate_text(offer.cet_yearly),
        "balance": offer.balance,
        "discount": offer.discount,
        "discount_on_charges": offer.discount_on_charges,
        "discount_on_principal": offer.discount_on_principal,
        "interest": offer.interest,
        "valid_until": offer.valid_until.isoformat(),
        "includes_prescribed": offer.includes_prescribed,
        "description": describe_offer(offer),
    }


def simulate(
    policy: NegotiationPolicy,
    amount: int,
    due: date,
    on: date,
    *,
    legal_rates: LegalRateTable | None = None,
    correction_index: CorrectionIndex | None = None,
) -> dict[str, Any]:
    """The valuation and offers for one debt of ``amount`` centavos due on ``due``, on ``on``."""
    debt = Debt.single(SIMULATION_REFERENCE, amount, due)
    tables: dict[str, Any] = {"legal_rates": legal_rates, "correction_index": correction_index}
    valuation = valuate(debt, on, terms=policy.charges, **tables)
    offers = make_offers([debt], policy, on, **tables)
    notes: list[str] = []
    if not offers:
        reason = exclusion_reason(debt, policy, on, **tables)
        notes.append(reason or "a política não permite oferta para este valor")
    if valuation.provisional:
        notes.append("valores provisórios: há mês sem taxa ou índice publicado")
    return {
        "valuation": valuation_to_dict(valuation),
        "offers": [offer_to_dict(offer) for offer in offers],
        "notes": notes,
    }
