"""Price-table (French system) installments, exact to the centavo, and related rates.

PMT = PV × i / (1 − (1 + i)^−n) is evaluated exactly in integers: with i = p/q (the
rate's own fraction, ``Decimal.as_integer_ratio``), PMT = PV·p·(q+p)^n / (q·((q+p)^n − q^n)),
then rounded half up. No float and no Decimal context can change a centavo, and the
integer path is faster than Decimal in the offer engine's loops. The schedule rounds
each month's interest half up and lets the last installment absorb the rounding, so the
principal parts sum exactly to PV (DOMAIN.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import NamedTuple

__all__ = [
    "AmortizationRow",
    "amortization_schedule",
    "early_payoff",
    "payoff_parts",
    "present_value",
    "price_amounts",
    "price_installment",
    "rate_ratio",
    "yearly_rate",
]

_RATE_PLACES = Decimal("0.0001")


@lru_cache(maxsize=1024)
def rate_ratio(rate: Decimal) -> tuple[int, int]:
    """The rate as an exact fraction ``(p, q)``; raises ValueError if negative or not finite."""
    if not rate.is_finite() or rate < 0:
        raise ValueError("rate must be a finite, non-negative Decimal")
    return rate.as_integer_ratio()


def price_installment(pv: int, rate: Decimal, n: int) -> int:
    """The Price-table installment for ``pv`` centavos at monthly ``rate`` over ``n`` months.

    R$ 10.000,00 at 2% in 12 → 94560 centavos (R$ 945,60); with rate 0 it is pv / n.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    if pv < 0:
        raise ValueError("pv must not be negative")
    p, q = rate_ratio(rate)
    if p == 0:
        num, den = pv, n
    else:
        grown = (q + p) ** n
        num = pv * p * grown
        den = q * (grown - q**n)
    return (2 * num + den) // (2 * den)


def price_amounts(pv: int, rate: Decimal, n: int) -> tuple[int, ...]:
    """The ``n`` installment amounts: PMT each, the last one absorbing the rounding.

    Raises ValueError when ``pv`` is so small that rounding would leave a negative last
    installment (a few centavos spread over many months).
    """
    pmt = price_installment(pv, rate, n)
    p, q = rate_ratio(rate)
    balance = pv
    two_q = 2 * q
    for _ in range(n - 1):
        balance -= pmt - (2 * balance * p + q) // two_q
    last = balance + (2 * balance * p + q) // two_q
    if last < 0:
        raise ValueError("amount too small for this number of installments")
    return (pmt,) * (n - 1) + (last,)


class AmortizationRow(NamedTuple):
    """One month of a Price schedule, in centavos."""

    number: int
    installment: int
    interest: int
    amortization: int
    balance: int


def amortization_schedule(pv: int, rate: Decimal, n: int) -> list[AmortizationRow]:
    """The full Price schedule (for disclosure): interest, amortization and balance per month."""
    amounts = price_amounts(pv, rate, n)
    p, q = rate_ratio(rate)
    rows: list[AmortizationRow] = []
    balance = pv
    for number, amount in enumerate(amounts, start=1):
        interest = (2 * balance * p + q) // (2 * q)
        amortization = amount - interest
        balance -= amortization
        rows.append(AmortizationRow(number, amount, interest, amortization, balance))
    return rows


def yearly_rate(monthly: Decimal) -> Decimal:
    """(1 + i)^12 − 1, to four decimal places (0.02 → 0.2682, i.e. 26,82% a.a.)."""
    return ((1 + monthly) ** 12 - 1).quantize(_RATE_PLACES, rounding=ROUND_HALF_UP)


def present_value(amount: int, rate: Decimal, due: date, on: date) -> Decimal:
    """Value on ``on`` of ``amount`` due on ``due`` at monthly ``rate``, pro rata die (days/30).

    An amount already due (``due`` ≤ ``on``) is worth its face value.
    """
    days = (due - on).days
    if days <= 0 or rate == 0:
        return Decimal(amount)
    return Decimal(amount) / (1 + rate) ** (Decimal(days) / 30)


def payoff_parts(items: Sequence[tuple[int, date]], rate: Decimal, on: date) -> tuple[int, ...]:
    """Each open amount's share of the early payoff on ``on`` (CDC art. 52 §2), in
    centavos: ``items`` are (amount still owed, due date), worth their present value at
    the plan's monthly ``rate``, pro rata die; what is already due counts at face value.

    The shares sum exactly to the whole present value rounded half up: each is its own
    value rounded down, and the centavos left go to the largest fractions (so no share
    ever exceeds what that item owes).
    """
    values = [present_value(amount, rate, due, on) for amount, due in items]
    total = int(sum(values, Decimal(0)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    floors = [int(value) for value in values]  # non-negative: int() rounds down
    order = sorted(range(len(values)), key=lambda k: (floors[k] - values[k], k))
    parts = list(floors)
    for k in order[: total - sum(floors)]:
        parts[k] += 1
    return tuple(parts)


def early_payoff(items: Sequence[tuple[int, date]], rate: Decimal, on: date) -> int:
    """What settles ``items`` (amount owed, due date) on ``on``: the present value of each
    at the monthly ``rate`` (days/30), already-due ones at face value, rounded half up
    to the centavo. Never more than their sum; equal to it at a zero rate."""
    return sum(payoff_parts(items, rate, on))
