"""Affordability: the plan that fits what a debtor says they can pay each month.

Among the offers the policy allows, the engine picks the cheapest (lowest total, then
fewest payments) whose every payment, the down payment included, fits the monthly
amount. With a declared income, no payment may leave less than the mínimo existencial
(R$ 600,00 a month, Decreto 11.567/2023): income − what the person already pays each
month on their other agreements (``committed``) − payment ≥ R$ 600,00.

It never makes a plan of its own: the plan it proposes is always one of ``offers``, the
list the offer engine made and the debtor site shows in full, so the plan that fits and
the table of offers cannot disagree. When none fits, ``smallest`` is the offer with the
smallest payment and ``can_propose`` says the person may send their own proposal to the
creditor (a special-offer request, never an agreement by itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from collection.domain.money import format_brl
from collection.domain.offers import Offer, make_offers
from collection.domain.policy import NegotiationPolicy, PolicyBook
from collection.domain.valuation import CorrectionIndex, Debt, LegalRateTable

__all__ = [
    "MINIMO_EXISTENCIAL",
    "Affordability",
    "affordable_plan",
    "choose_affordable",
    "leaves_minimo_existencial",
]

MINIMO_EXISTENCIAL = 60000  # centavos a month, Decreto 11.567/2023


@dataclass(frozen=True, slots=True)
class Affordability:
    """The plan that fits, or ``None`` with the reason (pt-BR) why none does."""

    offer: Offer | None
    reason: str | None = None
    smallest: Offer | None = None  # when none fits: the offer with the smallest payment

    @property
    def can_propose(self) -> bool:
        """True when offers exist but none fits: the person may propose their own terms."""
        return self.offer is None and self.smallest is not None


def leaves_minimo_existencial(income: int, committed: int, payment: int) -> bool:
    """True when paying ``payment`` a month, beside the ``committed`` monthly payments of
    the person's other agreements, leaves at least the mínimo existencial of ``income``."""
    return income - committed - payment >= MINIMO_EXISTENCIAL


def choose_affordable(
    offers: Sequence[Offer],
    monthly_budget: int,
    income: int | None = None,
    committed: int = 0,
) -> Affordability:
    """Pick, among ``offers``, the cheapest whose payments fit the budget and the income
    (after the ``committed`` monthly payments of the person's other agreements)."""
    if monthly_budget <= 0:
        return Affordability(None, "informe um valor mensal maior que zero")
    if income is not None and income < 0:
        return Affordability(None, "a renda informada não pode ser negativa")
    if not offers:
        return Affordability(None, "não há proposta disponível para estas dívidas")
    limit = monthly_budget
    existential = False
    if income is not None:
        room = income - committed - MINIMO_EXISTENCIAL
        if room <= 0:
            return Affordability(
                None,
                "com a renda informada, qualquer parcela deixaria menos de "
                f"{format_brl(MINIMO_EXISTENCIAL)} por mês (mínimo existencial)",
            )
        if room < limit:
            limit, existential = room, True
    fitting = [
        (offer.total, offer.payment_count, index, offer)
        for index, offer in enumerate(offers)
        if offer.largest_payment <= limit
    ]
    if fitting:
        return Affordability(min(fitting, key=lambda row: row[:3])[3])
    smallest = min(offers, key=lambda o: (o.largest_payment, o.total))
    reason = (
        f"a menor parcela possível é {format_brl(smallest.largest_payment)} "
        f"({smallest.payment_count} pagamento(s)), acima de {format_brl(limit)} por mês"
    )
    if existential:
        reason += f", o que preserva {format_brl(MINIMO_EXISTENCIAL)} da renda (mínimo existencial)"
    return Affordability(None, reason, smallest)


def affordable_plan(
    debts: Sequence[Debt],
    policy: NegotiationPolicy | PolicyBook,
    on: date,
    monthly_budget: int,
    income: int | None = None,
    *,
    legal_rates: LegalRateTable | None = None,
    correction_index: CorrectionIndex | None = None,
) -> Affordability:
    """The cheapest offer within the policy that fits ``monthly_budget`` (and ``income``)."""
    offers = make_offers(
        debts, policy, on, legal_rates=legal_rates, correction_index=correction_index
    )
    return choose_affordable(offers, monthly_budget, income)
