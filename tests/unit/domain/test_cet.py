from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collection.domain.cet import cet_yearly
from collection.domain.price import price_amounts

D0 = date(2025, 1, 2)


def cmn_3517_reference(flows: list[tuple[date, int]]) -> Decimal:
    """The Resolução CMN 3.517/2007 equation, solved by plain bisection in Decimal."""
    start, fc0 = flows[0]
    with localcontext() as ctx:
        ctx.prec = 40

        def excess(rate: Decimal) -> Decimal:
            return (
                sum(
                    (
                        Decimal(amount) / (1 + rate) ** (Decimal((day - start).days) / 365)
                        for day, amount in flows[1:]
                    ),
                    Decimal(0),
                )
                - fc0
            )

        lo, hi = Decimal("-0.99"), Decimal(100)
        for _ in range(120):
            mid = (lo + hi) / 2
            if excess(mid) > 0:
                lo = mid
            else:
                hi = mid
        return ((lo + hi) / 2).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def test_one_payment_a_year_later_gives_its_rate() -> None:
    assert cet_yearly([(D0, 100000), (D0 + timedelta(days=365), 110000)]) == Decimal("0.1000")


def test_thirty_day_price_plan_gives_the_365_over_30_equivalent() -> None:
    amounts = price_amounts(1_000_000, Decimal("0.02"), 12)
    flows = [(D0, 1_000_000)] + [(D0 + timedelta(days=30 * k), a) for k, a in enumerate(amounts, 1)]
    # With 30-day periods the CET is (1 + i)^(365/30) − 1 = 27,24% a.a.
    assert cet_yearly(flows) == Decimal("0.2724")


def test_no_interest_gives_zero_cet() -> None:
    flows = [(D0, 90000), (D0 + timedelta(days=31), 30000), (D0 + timedelta(days=59), 60000)]
    assert cet_yearly(flows) == 0


def test_flows_must_make_sense() -> None:
    with pytest.raises(ValueError):
        cet_yearly([(D0, 1000)])
    with pytest.raises(ValueError):
        cet_yearly([(D0, 1000), (D0 - timedelta(days=1), 1100)])
    with pytest.raises(ValueError):
        cet_yearly([(D0, 0), (D0 + timedelta(days=1), 1100)])


@settings(max_examples=60, deadline=None)
@given(
    st.integers(10_000, 10**8),
    st.lists(st.tuples(st.integers(0, 800), st.integers(1, 10**7)), min_size=1, max_size=24),
)
def test_cet_solves_the_cmn_3517_equation(fc0: int, payments: list[tuple[int, int]]) -> None:
    flows = [(D0, fc0), *sorted((D0 + timedelta(days=d), a) for d, a in payments)]
    if all(d == 0 for d, _ in payments):
        return
    reference = cmn_3517_reference(flows)
    if reference in (Decimal("-0.9900"), Decimal("100.0000")):
        return  # outside the reference's bracket: not a plan anyone would offer
    assert abs(cet_yearly(flows) - reference) <= Decimal("0.0001")
