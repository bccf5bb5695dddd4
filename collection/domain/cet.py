"""Total effective cost (CET) as Resolução CMN 3.517/2007 defines it.

The CET is the yearly rate that solves FC0 = Σ FCj / (1 + CET)^((dj − d0)/365), with dj
the calendar dates of the flows. Substituting x = ln(1 + CET) turns the right-hand side
into Σ FCj·e^(−tj·x): convex and decreasing in x when every payment is positive, so a
safeguarded Newton iteration (Newton inside a bisection bracket) always converges, in
three or four steps from a good guess. Floats are enough: the result is published with
four decimal places (two in percent), far above double precision's error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["cet_yearly", "quantize_rate", "solve_cet"]

_RATE_PLACES = Decimal("0.0001")
# Bracket for x = ln(1 + CET), from −100% to e^20: e^(20·t) stays finite for t < 35 years.
_X_MIN = -20.0
_X_MAX = 20.0


def quantize_rate(value: float | Decimal) -> Decimal:
    """A rate rounded half up to four decimal places (``0.268242`` → ``0.2682``)."""
    return Decimal(value).quantize(_RATE_PLACES, rounding=ROUND_HALF_UP)


def solve_cet(
    fc0: int, times: Sequence[float], amounts: Sequence[int], guess: float = 0.0
) -> float:
    """Solve for the yearly CET as a float; ``times`` are (dj − d0)/365, amounts positive.

    ``guess`` is a yearly rate to start from (the plan's nominal yearly rate is a good one).
    """
    if sum(amounts) == fc0 or not any(times):
        return 0.0
    exp = math.exp
    lo, hi = _X_MIN, _X_MAX
    x = math.log1p(guess) if guess > -0.99 else 0.0
    if not lo < x < hi:
        x = 0.0
    for _ in range(200):
        # value = Σ FCj·e^(−tj·x) − FC0 and its derivative is −Σ tj·FCj·e^(−tj·x).
        value = -float(fc0)
        weighted = 0.0
        for t, a in zip(times, amounts, strict=True):
            term = a * exp(-t * x)
            value += term
            weighted += t * term
        if value > 0:
            lo = x
        elif value < 0:
            hi = x
        else:
            break
        candidate = x + value / weighted if weighted else (lo + hi) / 2
        if not lo < candidate < hi:
            candidate = (lo + hi) / 2
        # Newton converges quadratically: after a step below 1e-7 the error left is of
        # the order of its square, far below the published fourth decimal place.
        if abs(candidate - x) < 1e-7:
            x = candidate
            break
        x = candidate
    return math.expm1(x)


def cet_yearly(flows: Sequence[tuple[date, int]]) -> Decimal:
    """The CET of ``flows``: the first is (d0, amount financed), the rest (date, payment).

    Returned as a Decimal fraction with four places (``Decimal("0.2719")`` = 27,19% a.a.).
    """
    if len(flows) < 2:
        raise ValueError("a CET needs the amount financed and at least one payment")
    start, fc0 = flows[0]
    if fc0 <= 0 or any(amount < 0 for _, amount in flows[1:]):
        raise ValueError("the amount financed must be positive and payments non-negative")
    if any(day < start for day, _ in flows[1:]):
        raise ValueError("a payment cannot come before the amount financed")
    times = [(day - start).days / 365 for day, _ in flows[1:]]
    amounts = [amount for _, amount in flows[1:]]
    return quantize_rate(solve_cet(fc0, times, amounts))
