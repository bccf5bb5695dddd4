import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from collection.domain.price import (
    amortization_schedule,
    present_value,
    price_amounts,
    price_installment,
    yearly_rate,
)


@pytest.mark.parametrize(
    ("pv", "rate", "n", "pmt"),
    [
        (1_000_000, "0.02", 12, 94560),  # DOMAIN.md
        (500_000, "0.02", 10, 55663),  # DOMAIN.md
        (100_000, "0.01", 12, 8885),  # R$ 1.000,00 at 1% in 12 → R$ 88,85
        (10_000_000, "0.01", 360, 102861),  # R$ 100.000,00 at 1% in 360 → R$ 1.028,61
        (1_000_000, "0", 3, 333333),
    ],
)
def test_price_installment_matches_published_values(pv: int, rate: str, n: int, pmt: int) -> None:
    assert price_installment(pv, Decimal(rate), n) == pmt


def _reference_pmt(pv: int, rate: Decimal, n: int) -> int:
    # Exact rationals: a tie such as 145000 at 0.13% in 1 month (145188.5) must round up,
    # which an 80-digit Decimal division (…499999…) would not.
    r = Fraction(rate)
    exact = Fraction(pv, n) if r == 0 else pv * r * (1 + r) ** n / ((1 + r) ** n - 1)
    return math.floor(exact + Fraction(1, 2))


def test_the_reference_rounds_an_exact_tie_up() -> None:
    assert (
        _reference_pmt(145000, Decimal("0.0013"), 1)
        == 145189
        == price_installment(145000, Decimal("0.0013"), 1)
    )


rates = st.integers(0, 1000).map(lambda n: Decimal(n) / 10000)


@settings(max_examples=300)
@given(st.integers(0, 10**9), rates, st.integers(1, 120))
def test_price_installment_is_the_formula_rounded_half_up(pv: int, rate: Decimal, n: int) -> None:
    assert price_installment(pv, rate, n) == _reference_pmt(pv, rate, n)


@settings(max_examples=300)
@given(st.integers(1, 120), rates, st.data())
def test_principal_sums_exactly_to_pv_and_the_last_absorbs_rounding(
    n: int, rate: Decimal, data: st.DataObject
) -> None:
    pv = data.draw(st.integers(n * 1000, 10**9))
    assume(price_installment(pv, rate, n) >= 500)  # installments of at least R$ 5,00
    factor = n if rate == 0 else ((1 + rate) ** n - 1) / rate
    try:
        rows = amortization_schedule(pv, rate, n)
    except ValueError:
        # Only when the compounded rounding drift can exceed the installment itself.
        assert price_installment(pv, rate, n) <= factor + 1
        return
    assert sum(r.amortization for r in rows) == pv
    assert rows[-1].balance == 0
    amounts = price_amounts(pv, rate, n)
    assert [r.installment for r in rows] == list(amounts)
    assert all(a == amounts[0] for a in amounts[:-1])
    # Each month's rounding (≤ ½ centavo in the PMT, ≤ ½ in the interest) compounds at the
    # plan's rate, so the last installment may differ by the annuity factor's worth.
    assert abs(amounts[-1] - amounts[0]) <= factor + 1
    assert sum(amounts) == pv + sum(r.interest for r in rows)


def test_last_installment_absorbs_the_rounding_in_the_domain_example() -> None:
    amounts = price_amounts(1_000_000, Decimal("0.02"), 12)
    assert amounts[:11] == (94560,) * 11
    assert amounts[11] == 94555


def test_tiny_amount_over_many_installments_is_refused() -> None:
    with pytest.raises(ValueError):
        price_amounts(9, Decimal(0), 6)


def test_yearly_rate_is_compounded_monthly_rate() -> None:
    assert yearly_rate(Decimal("0.02")) == Decimal("0.2682")
    assert yearly_rate(Decimal("0.01")) == Decimal("0.1268")
    assert yearly_rate(Decimal(0)) == Decimal(0)


def test_present_value_discounts_pro_rata_die() -> None:
    on = date(2025, 1, 1)
    assert present_value(10200, Decimal("0.02"), on + timedelta(days=30), on) == Decimal(10000)
    assert present_value(10200, Decimal("0.02"), on - timedelta(days=5), on) == Decimal(10200)
