from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collection.domain.errors import PolicyError, ValuationError
from collection.domain.valuation import (
    ContractTerms,
    CorrectionIndex,
    Debt,
    DebtItem,
    LegalRateTable,
    valuate,
)

TERMS = ContractTerms(late_fee_rate=Decimal("0.02"), late_interest_monthly=Decimal("0.01"))


def test_late_fee_above_two_percent_is_rejected() -> None:
    with pytest.raises(PolicyError) as err:
        ContractTerms(late_fee_rate=Decimal("0.021"))
    assert err.value.field == "late_fee_rate"


@settings(max_examples=200)
@given(
    st.integers(1, 10**9),
    st.integers(0, 200).map(lambda n: Decimal(n) / 10000),
    st.integers(0, 3000),
)
def test_late_fee_never_exceeds_two_percent(amount: int, rate: Decimal, days: int) -> None:
    on = date(2025, 6, 2)
    valuation = valuate(
        Debt.single("x", amount, on - timedelta(days=days)),
        on,
        terms=ContractTerms(late_fee_rate=rate, late_interest_monthly=Decimal(0)),
    )
    assert valuation.late_fee <= amount * Decimal("0.02") + Decimal("0.5")


def test_late_interest_is_simple_and_pro_rata_die() -> None:
    valuation = valuate(Debt.single("x", 100000, date(2025, 1, 10)), date(2025, 3, 11), terms=TERMS)
    assert valuation.days_late == 60
    assert valuation.late_fee == 2000
    assert valuation.interest == 2000  # 1000,00 × 1% × 60/30
    assert valuation.total == 104000


def test_contractual_late_interest_above_one_percent_a_month_is_rejected() -> None:
    with pytest.raises(PolicyError) as err:
        ContractTerms(late_interest_monthly=Decimal("0.0101"))
    assert err.value.field == "late_interest_monthly"


def test_legal_rate_is_one_percent_a_month_until_2024_08_29() -> None:
    valuation = valuate(Debt.single("x", 300000, date(2024, 5, 2)), date(2024, 7, 31))
    assert valuation.interest_basis == "legal"
    assert valuation.interest == 9000  # 90 days at 1% a.m.


def test_legal_rate_follows_the_taxa_legal_table_from_2024_08_30() -> None:
    table = LegalRateTable({"2024-08": "0.005", "2024-09": "0.004", "2024-10": "0.006"})
    valuation = valuate(
        Debt.single("x", 100000, date(2024, 8, 1)), date(2024, 10, 15), legal_rates=table
    )
    # Aug 2..29 at 1%, Aug 30..31 at 0,5%, Sep at 0,4%, Oct 1..15 at 0,6%, all /30 a day.
    expected = (
        Decimal(100000)
        * (
            Decimal("0.01") * 28
            + Decimal("0.005") * 2
            + Decimal("0.004") * 30
            + Decimal("0.006") * 15
        )
        / 30
    )
    assert valuation.interest == int(expected + Decimal("0.5"))
    assert not valuation.provisional


def test_negative_taxa_legal_is_floored_at_zero() -> None:
    table = LegalRateTable({"2025-01": "-0.002"})
    valuation = valuate(
        Debt.single("x", 100000, date(2025, 1, 1)), date(2025, 1, 31), legal_rates=table
    )
    assert valuation.interest == 0


def test_legal_rate_without_table_is_an_error() -> None:
    with pytest.raises(ValuationError):
        valuate(Debt.single("x", 100000, date(2025, 1, 1)), date(2025, 3, 1))


def test_month_missing_inside_the_table_is_an_error() -> None:
    table = LegalRateTable({"2025-01": "0.005", "2025-03": "0.005"})
    with pytest.raises(ValuationError, match="02/2025"):
        valuate(Debt.single("x", 100000, date(2025, 1, 1)), date(2025, 3, 10), legal_rates=table)


def test_month_after_the_table_counts_at_zero_and_is_provisional() -> None:
    table = LegalRateTable({"2025-01": "0.006"})
    valuation = valuate(
        Debt.single("x", 100000, date(2025, 1, 1)), date(2025, 2, 15), legal_rates=table
    )
    # Due on 1 January (a holiday): due on the 2nd, so 29 days of January only.
    assert valuation.interest == 580
    assert valuation.provisional


def test_correction_is_off_by_default() -> None:
    index = CorrectionIndex({"2025-01": "0.01"})
    valuation = valuate(
        Debt.single("x", 100000, date(2024, 12, 31)),
        date(2025, 1, 31),
        terms=TERMS,
        correction_index=index,
    )
    assert valuation.correction == 0


def test_correction_applies_the_monthly_index() -> None:
    index = CorrectionIndex({"2025-01": "0.01", "2025-02": "0.02", "2025-03": "0.01"})
    terms = ContractTerms(monetary_correction=True, late_interest_monthly=Decimal(0))
    valuation = valuate(
        Debt.single("x", 100000, date(2024, 12, 31)),
        date(2025, 3, 16),
        terms=terms,
        correction_index=index,
    )
    # Due on 31 December (banks closed): due on 2 January, corrected from the 3rd.
    factor = (1 + Decimal("0.01") * 29 / 31) * Decimal("1.02") * (1 + Decimal("0.01") * 16 / 31)
    assert valuation.correction == int(100000 * (factor - 1) + Decimal("0.5"))


def test_deflation_never_reduces_the_principal() -> None:
    index = CorrectionIndex({"2025-01": "-0.01"})
    terms = ContractTerms(monetary_correction=True)
    valuation = valuate(
        Debt.single("x", 100000, date(2024, 12, 31)),
        date(2025, 1, 31),
        terms=terms,
        correction_index=index,
        legal_rates=LegalRateTable({"2025-01": "0"}),
    )
    assert valuation.correction == 0
    assert valuation.principal == 100000


def test_correction_without_index_table_is_an_error() -> None:
    with pytest.raises(ValuationError):
        valuate(
            Debt.single("x", 100000, date(2025, 1, 1)),
            date(2025, 2, 1),
            terms=ContractTerms(monetary_correction=True, late_interest_monthly=Decimal(0)),
        )


def test_fees_are_charged_only_when_a_rate_is_given() -> None:
    debt = Debt.single("x", 100000, date(2025, 1, 10))
    assert valuate(debt, date(2025, 3, 11), terms=TERMS).fees == 0
    with_fees = ContractTerms(Decimal("0.02"), Decimal("0.01"), fees_rate=Decimal("0.10"))
    valuation = valuate(debt, date(2025, 3, 11), terms=with_fees)
    assert valuation.fees == 10400  # 10% of 1.040,00


def test_fees_above_twenty_percent_are_rejected() -> None:
    with pytest.raises(PolicyError) as err:
        ContractTerms(fees_rate=Decimal(10))
    assert err.value.field == "fees_rate"


def test_debt_due_on_a_weekend_is_not_late_until_the_next_business_day() -> None:
    debt = Debt.single("x", 100000, date(2025, 6, 7))  # Saturday
    assert valuate(debt, date(2025, 6, 9), terms=TERMS).total == 100000  # paid Monday
    late = valuate(debt, date(2025, 6, 10), terms=TERMS)
    # Código Civil art. 132 §1: the due date moved to Monday, interest counts from it.
    assert late.days_late == 1
    assert late.late_fee == 2000
    assert late.interest == 33  # 1% a.m. on R$ 1.000,00 for one day, not three


@pytest.mark.parametrize(
    ("due", "on_time", "first_late"),
    [
        (date(2027, 2, 8), date(2027, 2, 10), date(2027, 2, 11)),  # Carnival Monday
        (date(2027, 2, 9), date(2027, 2, 10), date(2027, 2, 11)),  # Carnival Tuesday
        (date(2027, 5, 27), date(2027, 5, 28), date(2027, 5, 29)),  # Corpus Christi
        (date(2027, 12, 31), date(2028, 1, 3), date(2028, 1, 4)),  # last business day
        (date(2027, 3, 6), date(2027, 3, 8), date(2027, 3, 9)),  # a Saturday
    ],
)
def test_paying_on_the_next_bank_business_day_after_a_closing_day_is_on_time(
    due: date, on_time: date, first_late: date
) -> None:
    debt = Debt.single("x", 100000, due)
    paid = valuate(debt, on_time, terms=TERMS)
    assert (paid.total, paid.late_fee, paid.interest, paid.days_late) == (100000, 0, 0, 0)
    late = valuate(debt, first_late, terms=TERMS)
    assert late.days_late == 1
    assert (late.late_fee, late.interest) == (2000, 33)


def test_legal_interest_after_a_closing_day_counts_from_the_moved_date() -> None:
    table = LegalRateTable({"2027-05": "0.006", "2027-06": "0.006"})
    debt = Debt.single("x", 100000, date(2027, 5, 27))  # Corpus Christi
    valuation = valuate(debt, date(2027, 6, 27), legal_rates=table)
    # Days 29/05..27/06 (30 days) at 0.6% a.m.: the moved due date 28/05 is not charged.
    assert valuation.interest == 600


def test_nothing_is_charged_before_the_due_date() -> None:
    valuation = valuate(Debt.single("x", 100000, date(2025, 7, 1)), date(2025, 6, 1), terms=TERMS)
    assert valuation.total == 100000
    assert valuation.days_late == 0


def test_debt_is_prescribed_five_years_after_its_due_date() -> None:
    debt = Debt.single("x", 100000, date(2020, 3, 10))
    assert not valuate(debt, date(2025, 3, 9), terms=TERMS).is_prescribed
    assert valuate(debt, date(2025, 3, 10), terms=TERMS).is_prescribed


def test_only_the_prescribed_items_are_dropped_from_the_enforceable_part() -> None:
    debt = Debt("x", (DebtItem(1000, date(2019, 1, 10)), DebtItem(2000, date(2024, 1, 10))))
    valuation = valuate(debt, date(2025, 6, 1), terms=TERMS)
    assert valuation.has_prescribed_items and not valuation.is_prescribed
    enforceable = valuation.enforceable()
    assert enforceable is not None
    assert enforceable.principal == 2000
    prescribed = valuate(Debt.single("y", 1000, date(2019, 1, 10)), date(2025, 6, 1), terms=TERMS)
    assert prescribed.enforceable() is None


def test_debt_item_must_be_positive() -> None:
    with pytest.raises(ValuationError):
        DebtItem(0, date(2025, 1, 1))


def test_the_debts_own_terms_win_over_the_tenants() -> None:
    own = ContractTerms(late_fee_rate=Decimal("0.01"), late_interest_monthly=Decimal(0))
    debt = Debt.single("x", 100000, date(2025, 1, 10), terms=own)
    assert valuate(debt, date(2025, 3, 11), terms=TERMS).late_fee == 1000


@settings(max_examples=200)
@given(
    st.lists(st.tuples(st.integers(1, 10**8), st.integers(0, 2500)), min_size=1, max_size=4),
    st.sampled_from([Decimal(0), Decimal("0.1")]),
)
def test_every_part_is_itemised_and_sums_to_the_total(
    rows: list[tuple[int, int]], fees: Decimal
) -> None:
    on = date(2025, 6, 2)
    debt = Debt("x", tuple(DebtItem(a, on - timedelta(days=d)) for a, d in rows))
    terms = ContractTerms(Decimal("0.02"), Decimal("0.01"), fees)
    valuation = valuate(debt, on, terms=terms)
    parts = (
        valuation.principal
        + valuation.late_fee
        + valuation.interest
        + valuation.correction
        + valuation.fees
    )
    assert parts == valuation.total == sum(i.total for i in valuation.items)
    assert valuation.principal == debt.original_amount
    assert valuation.computed_on == on
