"""The offer engine: what a debtor may be offered for their debts at one creditor.

Offers, in a stable order: pay at once with the best discount the debts' buckets allow;
then Price-table plans without down payment (2..N payments); then plans with a down
payment (entrada + 1..N−1). Conventions where the rules are silent:

- Dates. ``valid_until`` = ``on`` + validity days. The cash payment and the down payment
  fall due on ``first_due`` = the first bank business day on or after ``valid_until``;
  monthly installment k falls on ``first_due`` + k months (clamped to the month's end),
  moved to the next bank business day (``business_days``: no Carnival, Corpus Christi or
  year-end closing). The financing starts at ``first_due``, the day the debtor would
  otherwise pay the cash price; that is d0 of the CET, and it makes the Price formula
  (first installment one month after the start) exact rather than a disguised rate.
- Several debts, several buckets. Discounts are per debt, from its own bucket (and its
  own portfolio's policy); the terms of the plan as a whole take the most restrictive of
  the buckets involved: the fewest installments, the lowest monthly rate, the highest
  minimum installment and down payment, the shortest validity. So no offer breaks any
  bucket that applies to it.
- Installment plans use the bucket's installment discounts (never above the cash ones),
  so paying at once is never dearer than a plan. The down payment is the bucket's
  minimum (amount or share of the negotiated balance), and never below the minimum
  installment.
- ``discount`` is what is waived against the updated balance; ``interest`` is the
  financing cost; total = balance − discount + interest.
- Prescribed items are left out, unless the caller asks for voluntary payment
  (``include_prescribed``) and the policy allows it; such offers say
  ``includes_prescribed`` and must never go out through an active channel.
- Debts covered by no bucket are left out (``exclusion_reason`` says why).

Speed: the Price amounts are integer arithmetic, due dates are computed once per call
and shared by every plan, and each CET starts from the previous plan's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from collection.domain.business_days import add_months, next_bank_business_day
from collection.domain.cet import quantize_rate, solve_cet
from collection.domain.money import apply_rate, format_brl, format_rate
from collection.domain.policy import AgeBucket, NegotiationPolicy, PolicyBook
from collection.domain.price import price_amounts, yearly_rate
from collection.domain.valuation import (
    CorrectionIndex,
    Debt,
    LegalRateTable,
    Valuation,
    valuate,
)

__all__ = [
    "Offer",
    "OfferKind",
    "ScheduledPayment",
    "describe_offer",
    "exclusion_reason",
    "make_offers",
]

_ZERO = Decimal(0)


class OfferKind(StrEnum):
    """Pay at once, or in installments."""

    CASH = "cash"
    INSTALLMENTS = "installments"


class ScheduledPayment(NamedTuple):
    """One payment of a plan: its number (from 1), due date and amount in centavos."""

    number: int
    due_date: date
    amount: int


@dataclass(frozen=True, slots=True)
class Offer:
    """One offer with everything CDC art. 52 requires to be disclosed before acceptance.

    ``installments`` are the monthly payments (the cash payment is installment 1 of a cash
    offer); a down payment is separate. Amounts are centavos, rates Decimal fractions.
    ``start_date`` is when the financing starts (the cash due date; d0 of the CET).
    Amounts and dates are kept as two parallel tuples because building a record per
    installment for every plan dominated the engine's time; ``installments`` pairs them.
    """

    code: str
    kind: OfferKind
    debts: tuple[str, ...]
    valuations: tuple[Valuation, ...]
    balance: int
    discount_on_charges: int
    discount_on_principal: int
    down_payment: int
    down_payment_due: date | None
    installment_amounts: tuple[int, ...]
    installment_dates: tuple[date, ...]
    total: int
    start_date: date
    monthly_rate: Decimal
    yearly_rate: Decimal
    cet_yearly: Decimal
    valid_until: date
    includes_prescribed: bool

    @property
    def installments(self) -> tuple[ScheduledPayment, ...]:
        """The monthly payments, numbered from 1."""
        return tuple(
            ScheduledPayment(number, due, amount)
            for number, (due, amount) in enumerate(
                zip(self.installment_dates, self.installment_amounts, strict=True), start=1
            )
        )

    @property
    def discount(self) -> int:
        """What is waived against the updated balance, in centavos."""
        return self.discount_on_charges + self.discount_on_principal

    @property
    def negotiated(self) -> int:
        """The balance after the discount: the cash price of this offer."""
        return self.balance - self.discount

    @property
    def interest(self) -> int:
        """The financing cost of the plan (zero for cash)."""
        return self.total - self.negotiated

    @property
    def first_due_date(self) -> date:
        """The due date of the first payment (down payment or first installment)."""
        return self.down_payment_due or self.installment_dates[0]

    @property
    def installment_count(self) -> int:
        """Monthly installments, not counting the down payment."""
        return len(self.installment_amounts)

    @property
    def payment_count(self) -> int:
        """Every payment, the down payment included."""
        return len(self.installment_amounts) + (1 if self.down_payment else 0)

    @property
    def largest_payment(self) -> int:
        """The largest single payment the debtor would make."""
        return max(self.down_payment, max(self.installment_amounts))

    @property
    def provisional(self) -> bool:
        """True when a valuation used a rate or index not yet published for a month."""
        return any(v.provisional for v in self.valuations)


class _Line(NamedTuple):
    valuation: Valuation
    bucket: AgeBucket


def _policy_for(policy: NegotiationPolicy | PolicyBook, debt: Debt) -> NegotiationPolicy:
    if isinstance(policy, PolicyBook):
        return policy.for_portfolio(debt.portfolio)
    return policy


def _line(
    debt: Debt,
    policy: NegotiationPolicy,
    on: date,
    legal_rates: LegalRateTable | None,
    correction_index: CorrectionIndex | None,
    include_prescribed: bool,
) -> tuple[_Line | None, str | None]:
    full = valuate(
        debt,
        on,
        terms=policy.charges,
        legal_rates=legal_rates,
        correction_index=correction_index,
    )
    voluntary = include_prescribed and policy.allow_voluntary_prescribed
    valuation = full if voluntary else full.enforceable()
    if valuation is None:
        return None, "dívida prescrita: não pode ser cobrada"
    bucket = policy.bucket_for(valuation.days_late)
    if bucket is None:
        return None, f"nenhuma faixa da política cobre {valuation.days_late} dias de atraso"
    return _Line(valuation, bucket), None


def exclusion_reason(
    debt: Debt,
    policy: NegotiationPolicy | PolicyBook,
    on: date,
    *,
    legal_rates: LegalRateTable | None = None,
    correction_index: CorrectionIndex | None = None,
    include_prescribed: bool = False,
) -> str | None:
    """Why ``make_offers`` leaves ``debt`` out (pt-BR), or None when it is offered."""
    _, reason = _line(
        debt, _policy_for(policy, debt), on, legal_rates, correction_index, include_prescribed
    )
    return reason


def _debt_order(debt: Debt) -> tuple[str, str, tuple[tuple[date, int], ...], int]:
    # A total order on debts, so the offers never depend on the order they came in.
    return (
        debt.reference,
        debt.portfolio or "",
        tuple((item.due_date, item.amount) for item in debt.items),
        debt.paid,
    )


def _down_payment(base: int, buckets: Sequence[AgeBucket]) -> int:
    by_rate = max(apply_rate(base, b.min_down_payment_rate) for b in buckets)
    by_amount = max(b.min_down_payment for b in buckets)
    by_installment = max(b.min_installment for b in buckets)
    return max(by_rate, by_amount, by_installment)


def make_offers(
    debts: Sequence[Debt],
    policy: NegotiationPolicy | PolicyBook,
    on: date,
    *,
    legal_rates: LegalRateTable | None = None,
    correction_index: CorrectionIndex | None = None,
    include_prescribed: bool = False,
) -> list[Offer]:
    """Every offer the policy allows for ``debts`` (one debtor, one creditor) on ``on``.

    Deterministic: the same debts (in any order), policy and date give the same offers in
    the same order. Returns an empty list when no debt can be offered.
    """
    lines: list[_Line] = []
    for debt in sorted(debts, key=_debt_order):
        line, _ = _line(
            debt,
            _policy_for(policy, debt),
            on,
            legal_rates,
            correction_index,
            include_prescribed,
        )
        if line is not None:
            lines.append(line)
    if not lines:
        return []

    valuations = tuple(line.valuation for line in lines)
    references = tuple(v.reference for v in valuations)
    buckets = [line.bucket for line in lines]
    prescribed = any(v.has_prescribed_items for v in valuations)
    balance = sum(v.total for v in valuations)

    cash_charges = sum(apply_rate(v.charges, b.cash_discount_charges) for v, b in lines)
    cash_principal = sum(apply_rate(v.principal, b.cash_discount_principal) for v, b in lines)
    plan_charges = sum(apply_rate(v.charges, b.installment_discount_charges) for v, b in lines)
    plan_principal = sum(
        apply_rate(v.principal, b.installment_discount_principal) for v, b in lines
    )

    max_payments = min(b.max_installments for b in buckets)
    rate = min(b.monthly_rate for b in buckets)
    min_installment = max(b.min_installment for b in buckets)
    valid_until = on + timedelta(days=min(b.validity_days for b in buckets))
    first_due = next_bank_business_day(valid_until)

    offers: list[Offer] = []
    cash_total = balance - cash_charges - cash_principal
    if cash_total > 0:
        offers.append(
            Offer(
                code="cash",
                kind=OfferKind.CASH,
                debts=references,
                valuations=valuations,
                balance=balance,
                discount_on_charges=cash_charges,
                discount_on_principal=cash_principal,
                down_payment=0,
                down_payment_due=None,
                installment_amounts=(cash_total,),
                installment_dates=(first_due,),
                total=cash_total,
                start_date=first_due,
                monthly_rate=_ZERO,
                yearly_rate=_ZERO,
                cet_yearly=_ZERO,
                valid_until=valid_until,
                includes_prescribed=prescribed,
            )
        )
    base = balance - plan_charges - plan_principal
    if max_payments < 2 or base <= 0:
        return offers

    yearly = yearly_rate(rate)
    guess = float(yearly)
    dates: list[date] = []
    times: list[float] = []

    def extend_dates(count: int) -> None:
        while len(dates) < count:
            due = next_bank_business_day(add_months(first_due, len(dates) + 1))
            dates.append(due)
            times.append((due - first_due).days / 365)

    cets: dict[int, float] = {}

    def plans(financed: int, down: int, counts: range, prefix: str) -> None:
        cet_guess = guess
        for n in counts:
            try:
                amounts = price_amounts(financed, rate, n)
            except ValueError:
                # Rounding drift at a high rate over many months would leave a negative
                # last installment: no such plan.
                continue
            if amounts[0] < min_installment:
                break  # the installment only falls as n grows
            if amounts[-1] < min_installment:
                continue
            extend_dates(n)
            # The plan of the same length without down payment has a very close CET.
            cet_guess = cets.get(n, cet_guess)
            if down:
                cet = solve_cet(base, [0.0, *times[:n]], [down, *amounts], cet_guess)
            else:
                cet = solve_cet(base, times[:n], amounts, cet_guess)
            cet_guess = cet
            if not down:
                cets[n] = cet
            offers.append(
                Offer(
                    code=f"{prefix}{n}",
                    kind=OfferKind.INSTALLMENTS,
                    debts=references,
                    valuations=valuations,
                    balance=balance,
                    discount_on_charges=plan_charges,
                    discount_on_principal=plan_principal,
                    down_payment=down,
                    down_payment_due=first_due if down else None,
                    installment_amounts=amounts,
                    installment_dates=tuple(dates[:n]),
                    total=down + sum(amounts),
                    start_date=first_due,
                    monthly_rate=rate,
                    yearly_rate=yearly,
                    cet_yearly=quantize_rate(cet),
                    valid_until=valid_until,
                    includes_prescribed=prescribed,
                )
            )

    plans(base, 0, range(2, max_payments + 1), "installments-")
    down = _down_payment(base, buckets)
    if down < base:
        plans(base - down, down, range(1, max_payments), "down-payment+")
    return offers


def describe_offer(offer: Offer) -> str:
    """A one-line pt-BR disclosure of the offer: payments, rates, CET, total and discount.

    "sem juros" appears only when the plan's rate is zero.
    """
    parts: list[str] = []
    if offer.kind is OfferKind.CASH:
        parts.append(
            f"À vista: {format_brl(offer.total)} com vencimento em {offer.first_due_date:%d/%m/%Y}"
        )
    else:
        count = offer.installment_count
        first = offer.installment_amounts[0]
        last = offer.installment_amounts[-1]
        plan = f"{count}x de {format_brl(first)}"
        if last != first:
            plan += f" (última de {format_brl(last)})"
        if offer.down_payment:
            plan = f"Entrada de {format_brl(offer.down_payment)} + {plan}"
        if offer.monthly_rate == 0:
            plan += " sem juros"
        else:
            plan += (
                f", juros de {format_rate(offer.monthly_rate)} ao mês "
                f"({format_rate(offer.yearly_rate)} ao ano), "
                f"CET de {format_rate(offer.cet_yearly)} ao ano"
            )
        parts.append(plan)
        parts.append(f"1º vencimento em {offer.first_due_date:%d/%m/%Y}")
        parts.append(f"total de {format_brl(offer.total)}")
    if offer.discount:
        parts.append(f"desconto de {format_brl(offer.discount)} sobre {format_brl(offer.balance)}")
    if offer.kind is OfferKind.INSTALLMENTS and offer.monthly_rate > 0:
        parts.append("pagamento antecipado com redução proporcional dos juros (CDC art. 52 §2)")
    parts.append(f"oferta válida até {offer.valid_until:%d/%m/%Y}")
    text = "; ".join(parts) + "."
    if offer.includes_prescribed:
        text += (
            " Inclui dívida prescrita, que não pode mais ser cobrada: o pagamento dela é"
            " voluntário."
        )
    return text
