"""Hypothesis strategies for the domain tests: policies, debts and dates."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from collection.domain.policy import AgeBucket, NegotiationPolicy
from collection.domain.valuation import ContractTerms, Debt, DebtItem

ON_DATES = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


def fractions(max_hundredths: int = 100) -> st.SearchStrategy[Decimal]:
    """Decimal fractions with two places, 0..max_hundredths/100."""
    return st.integers(0, max_hundredths).map(lambda n: Decimal(n) / 100)


monthly_rates = st.integers(0, 500).map(lambda n: Decimal(n) / 10000)  # 0% .. 5%


@st.composite
def buckets(draw: st.DrawFn, min_days: int, max_days: int | None) -> AgeBucket:
    cash_charges = draw(fractions())
    cash_principal = draw(fractions(60))
    return AgeBucket(
        min_days=min_days,
        max_days=max_days,
        cash_discount_charges=cash_charges,
        cash_discount_principal=cash_principal,
        installment_discount_charges=draw(fractions(int(cash_charges * 100))),
        installment_discount_principal=draw(fractions(int(cash_principal * 100))),
        max_installments=draw(st.integers(1, 36)),
        monthly_rate=draw(monthly_rates),
        min_installment=draw(st.integers(1, 20000)),
        min_down_payment=draw(st.integers(0, 50000)),
        min_down_payment_rate=draw(fractions(50)),
        validity_days=draw(st.integers(2, 30)),
    )


@st.composite
def policies(draw: st.DrawFn) -> NegotiationPolicy:
    """A valid random policy: 1-4 contiguous buckets from day 0, the last open-ended."""
    cuts = sorted(draw(st.sets(st.integers(1, 1500), max_size=3)))
    bounds = [0, *[c + 1 for c in cuts]]
    made = []
    for index, start in enumerate(bounds):
        end = bounds[index + 1] - 1 if index + 1 < len(bounds) else None
        made.append(draw(buckets(start, end)))
    terms = ContractTerms(
        late_fee_rate=draw(st.integers(0, 200).map(lambda n: Decimal(n) / 10000)),
        late_interest_monthly=draw(st.integers(0, 100).map(lambda n: Decimal(n) / 10000)),
        fees_rate=draw(st.sampled_from([Decimal(0), Decimal("0.10")])),
    )
    return NegotiationPolicy(buckets=tuple(made), charges=terms)


@st.composite
def debts_for(draw: st.DrawFn, on: date) -> list[Debt]:
    """1-3 debts of one debtor, due up to ~4.5 years before ``on`` (none prescribed)."""
    count = draw(st.integers(1, 3))
    result = []
    for index in range(count):
        items = tuple(
            DebtItem(
                draw(st.integers(1000, 5_000_000)),
                on - timedelta(days=draw(st.integers(0, 1600))),
            )
            for _ in range(draw(st.integers(1, 3)))
        )
        result.append(Debt(f"contrato-{index}", items))
    return result
