"""Special offers: terms beyond the tenant's policy, proposed by staff for one account.

A special offer is built from the updated balance of the debts it covers (fixed when it
is proposed) and four numbers the proposer chooses: the discount (a fraction of the
balance), the number of payments, the monthly rate and the last day it stands; a
down payment may open an installment plan. It becomes the same ``Offer`` the policy's
engine makes, with the same conventions (see ``collection.domain.offers``):

- the cash payment, or the down payment, falls due on ``first_due``, the first bank business
  day on or after ``valid_until``; monthly installment k falls on ``first_due`` + k
  months, moved to the next bank business day; the financing starts at ``first_due`` (d0 of
  the CET);
- ``payments`` counts every payment, the down payment included (entrada + 11 is 12),
  as the policy's ``max_installments`` does; 1 payment is paying at once;
- the discount waives the charges first, then the principal (what a person would expect
  to be given up first).

Beyond the policy, but never beyond the law or the product's rules of disclosure:

- the offer stands for at least ``MIN_VALIDITY_DAYS`` days from the day it is proposed;
- the monthly rate stays within ``MONTHLY_RATE_CAP`` and, when the caller gives it,
  within the rate the policy would charge for these debts ("the interest of a plan never
  goes above the policy's rate"): a special offer is a concession, never dearer;
- at most ``MAX_INSTALLMENTS_CAP`` payments, each of a positive amount on a bank business day;
- the CET and the yearly rate are stated for every plan, as for any offer.

Prescribed and disputed debts are the services' business: they never reach this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

from collection.domain.business_days import add_months, next_bank_business_day
from collection.domain.cet import cet_yearly
from collection.domain.errors import DomainError
from collection.domain.money import apply_rate
from collection.domain.offers import Offer, OfferKind
from collection.domain.policy import MAX_INSTALLMENTS_CAP, MIN_VALIDITY_DAYS, MONTHLY_RATE_CAP
from collection.domain.price import price_amounts, yearly_rate

__all__ = [
    "RATE_PLACES",
    "InvalidSpecialOffer",
    "Problem",
    "SpecialTerms",
    "check_terms",
    "propose_offer",
    "special_offer",
    "terms_from_proposal",
]

_ZERO = Decimal(0)
_ONE = Decimal(1)
# Rates are fractions with at most four places (two in percent: 1,99% is 0.0199).
RATE_PLACES = 4


class Problem(StrEnum):
    """Why a term of a special offer is refused (the service words it for people)."""

    DISCOUNT_RANGE = "discount_range"  # not between 0 and 100%
    PAYMENTS_RANGE = "payments_range"  # not between 1 and MAX_INSTALLMENTS_CAP
    RATE_NEGATIVE = "rate_negative"
    RATE_ABOVE_CAP = "rate_above_cap"  # above MONTHLY_RATE_CAP
    RATE_ABOVE_POLICY = "rate_above_policy"  # above the policy's rate for these debts
    RATE_PRECISION = "rate_precision"  # more than RATE_PLACES decimal places
    VALIDITY_TOO_SHORT = "validity_too_short"  # less than MIN_VALIDITY_DAYS from today
    DOWN_PAYMENT_RANGE = "down_payment_range"  # negative, on a cash offer, or ≥ the total
    NOTHING_TO_PAY = "nothing_to_pay"  # total of zero (a 100% discount)
    INSTALLMENT_TOO_SMALL = "installment_too_small"  # an installment of zero centavos


class InvalidSpecialOffer(DomainError):
    """Terms that cannot make a special offer; ``problems`` maps each field to its problem."""

    def __init__(self, problems: dict[str, Problem]) -> None:
        super().__init__(", ".join(f"{k}: {v.value}" for k, v in problems.items()))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class SpecialTerms:
    """What the proposer chose: fractions as Decimal, the down payment in centavos."""

    discount_rate: Decimal
    payments: int
    monthly_rate: Decimal
    valid_until: date
    down_payment: int = 0

    @property
    def is_cash(self) -> bool:
        """One payment: paying at once."""
        return self.payments == 1


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def check_terms(
    terms: SpecialTerms,
    balance: int,
    on: date,
    *,
    max_monthly_rate: Decimal | None = None,
) -> dict[str, Problem]:
    """Every problem of ``terms`` for a balance of ``balance`` centavos proposed on ``on``.

    Empty when the terms can make an offer (``special_offer`` then never fails).
    """
    problems: dict[str, Problem] = {}
    discount = terms.discount_rate
    if not discount.is_finite() or not _ZERO <= discount <= _ONE:
        problems["discount_rate"] = Problem.DISCOUNT_RANGE
    elif _places(discount) > RATE_PLACES:
        problems["discount_rate"] = Problem.RATE_PRECISION
    if not 1 <= terms.payments <= MAX_INSTALLMENTS_CAP:
        problems["payments"] = Problem.PAYMENTS_RANGE
    rate = terms.monthly_rate
    if not rate.is_finite() or rate < 0:
        problems["monthly_rate"] = Problem.RATE_NEGATIVE
    elif _places(rate) > RATE_PLACES:
        problems["monthly_rate"] = Problem.RATE_PRECISION
    elif rate > MONTHLY_RATE_CAP:
        problems["monthly_rate"] = Problem.RATE_ABOVE_CAP
    elif max_monthly_rate is not None and rate > max_monthly_rate and not terms.is_cash:
        problems["monthly_rate"] = Problem.RATE_ABOVE_POLICY
    if terms.valid_until < on + timedelta(days=MIN_VALIDITY_DAYS):
        problems["valid_until"] = Problem.VALIDITY_TOO_SHORT
    if "discount_rate" in problems:
        return problems
    negotiated = balance - apply_rate(balance, discount)
    if negotiated <= 0:
        problems["discount_rate"] = Problem.NOTHING_TO_PAY
        return problems
    down = terms.down_payment
    if down < 0 or (down and terms.is_cash) or down >= negotiated:
        problems["down_payment"] = Problem.DOWN_PAYMENT_RANGE
        return problems
    if problems:
        return problems
    monthly = terms.payments - (1 if down else 0)
    if monthly >= 1 and not terms.is_cash:
        try:
            amounts = price_amounts(negotiated - down, rate, monthly)
        except ValueError:
            amounts = (0,)
        if min(amounts) <= 0:
            problems["payments"] = Problem.INSTALLMENT_TOO_SMALL
    return problems


def special_offer(
    balance: int,
    charges: int,
    terms: SpecialTerms,
    *,
    debts: Sequence[str] = (),
    code_prefix: str = "special",
) -> Offer:
    """The offer ``terms`` make for ``balance`` centavos (``charges`` of it above principal).

    Deterministic: the same arguments always give the same offer, so the offer stored
    when proposed can be made again when accepted. Call ``check_terms`` first: terms it
    refuses raise ValueError here.
    """
    if not 0 <= charges <= balance:
        raise ValueError("charges must lie between zero and the balance")
    discount = apply_rate(balance, terms.discount_rate)
    negotiated = balance - discount
    if negotiated <= 0:
        raise ValueError("nothing left to pay")
    on_charges = min(discount, charges)
    first_due = next_bank_business_day(terms.valid_until)
    down = 0 if terms.is_cash else terms.down_payment
    rate = _ZERO if terms.is_cash else terms.monthly_rate
    if terms.is_cash:
        code = f"{code_prefix}-cash"
        amounts: tuple[int, ...] = (negotiated,)
        dates: tuple[date, ...] = (first_due,)
        cet = _ZERO
    else:
        count = terms.payments - (1 if down else 0)
        amounts = price_amounts(negotiated - down, rate, count)
        if min(amounts) <= 0:
            raise ValueError("an installment of zero")
        dates = tuple(next_bank_business_day(add_months(first_due, k)) for k in range(1, count + 1))
        flows = [(first_due, negotiated), *([(first_due, down)] if down else [])]
        cet = cet_yearly([*flows, *zip(dates, amounts, strict=True)])
        code = (
            f"{code_prefix}-down-payment+{count}" if down else f"{code_prefix}-installments-{count}"
        )
    return Offer(
        code=code,
        kind=OfferKind.CASH if terms.is_cash else OfferKind.INSTALLMENTS,
        debts=tuple(debts),
        valuations=(),
        balance=balance,
        discount_on_charges=on_charges,
        discount_on_principal=discount - on_charges,
        down_payment=down,
        down_payment_due=first_due if down else None,
        installment_amounts=amounts,
        installment_dates=dates,
        total=down + sum(amounts),
        start_date=first_due,
        monthly_rate=rate,
        yearly_rate=yearly_rate(rate),
        cet_yearly=cet,
        valid_until=terms.valid_until,
        includes_prescribed=False,
    )


def propose_offer(
    balance: int,
    charges: int,
    terms: SpecialTerms,
    on: date,
    *,
    debts: Sequence[str] = (),
    max_monthly_rate: Decimal | None = None,
) -> Offer:
    """``check_terms`` then ``special_offer``; raises InvalidSpecialOffer with every problem."""
    problems = check_terms(terms, balance, on, max_monthly_rate=max_monthly_rate)
    if problems:
        raise InvalidSpecialOffer(problems)
    return special_offer(balance, charges, terms, debts=debts)


def terms_from_proposal(balance: int, monthly: int, months: int, valid_until: date) -> SpecialTerms:
    """The special terms of a person's own proposal: ``months`` payments of at most about
    ``monthly`` centavos, without interest, the discount being what the proposal leaves
    unpaid of ``balance`` (rounded up to ``RATE_PLACES``, so the total never exceeds what
    the person offered by more than rounding). ``check_terms`` still decides if it stands.
    """
    offered = monthly * months
    if balance <= 0 or offered >= balance:
        discount = _ZERO
    else:
        exact = _ONE - Decimal(offered) / Decimal(balance)
        discount = exact.quantize(Decimal(1).scaleb(-RATE_PLACES), rounding=ROUND_CEILING)
    return SpecialTerms(
        discount_rate=min(discount, _ONE),
        payments=months,
        monthly_rate=_ZERO,
        valid_until=valid_until,
    )
