"""Early payoff (CDC art. 52 §2): the present value of what remains, exact to the centavo,
and a reversed payoff puts the schedule back as it was."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from collection.domain.agreements import Agreement, AgreementStatus, Installment
from collection.domain.price import early_payoff, payoff_parts, present_value
from tests.unit.domain.strategies import monthly_rates

ON = date(2026, 3, 2)

remaining = st.lists(
    st.tuples(st.integers(1, 5_000_000), st.integers(-90, 720)).map(
        lambda t: (t[0], ON + timedelta(days=t[1]))
    ),
    min_size=1,
    max_size=36,
)


@settings(deadline=None)  # a shared, busy machine: no time limit per example
@given(items=remaining, rate=monthly_rates)
def test_payoff_never_exceeds_what_remains(items: list[tuple[int, date]], rate: Decimal) -> None:
    assert early_payoff(items, rate, ON) <= sum(amount for amount, _due in items)


@settings(deadline=None)  # a shared, busy machine: no time limit per example
@given(items=remaining)
def test_payoff_at_zero_interest_is_exactly_what_remains(items: list[tuple[int, date]]) -> None:
    assert early_payoff(items, Decimal(0), ON) == sum(amount for amount, _due in items)


@settings(deadline=None)  # a shared, busy machine: no time limit per example
@given(items=remaining, rate=monthly_rates)
def test_payoff_is_the_present_value_rounded_half_up_and_its_shares_sum_to_it(
    items: list[tuple[int, date]], rate: Decimal
) -> None:
    exact = sum((present_value(a, rate, due, ON) for a, due in items), Decimal(0))
    payoff = early_payoff(items, rate, ON)
    assert isinstance(payoff, int)
    assert payoff == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    parts = payoff_parts(items, rate, ON)
    assert sum(parts) == payoff and all(isinstance(p, int) for p in parts)
    for part, (amount, _due) in zip(parts, items, strict=True):
        assert 0 <= part <= amount  # no installment is charged more than it owes


@settings(deadline=None)  # a shared, busy machine: no time limit per example
@given(items=remaining, rate=monthly_rates, later=st.integers(0, 400))
def test_paying_later_never_costs_less(
    items: list[tuple[int, date]], rate: Decimal, later: int
) -> None:
    assert early_payoff(items, rate, ON) <= early_payoff(items, rate, ON + timedelta(days=later))


def test_what_is_already_due_counts_at_face_value() -> None:
    items = [(30000, ON - timedelta(days=3)), (30000, ON)]
    assert early_payoff(items, Decimal("0.05"), ON) == 60000


def test_twelve_installments_at_two_percent_one_month_before_the_first() -> None:
    # R$ 945,60 × 12 at 2% a.m., the first due in 30 days: the Price table's own PV,
    # R$ 10.000,00 give or take the rounding of the installment.
    items = [(94560, ON + timedelta(days=30 * k)) for k in range(1, 13)]
    assert abs(early_payoff(items, Decimal("0.02"), ON) - 1_000_000) <= 12


DUES = [date(2026, 3, 9), date(2026, 4, 9), date(2026, 5, 11), date(2026, 6, 9)]


def _agreement() -> Agreement:
    items = [Installment(n, due, 30000) for n, due in enumerate(DUES, start=1)]
    return Agreement(items, Decimal("0.03"), 5, date(2026, 3, 2))


def test_a_payoff_reversed_gives_the_discount_back_and_reopens_the_schedule() -> None:
    agreement = _agreement()
    agreement.receive_payment(30000, DUES[0])
    on = DUES[0] + timedelta(days=2)
    due = agreement.payoff_amount(on)
    receipt = agreement.pay_off(due, on)
    assert agreement.status is AgreementStatus.PAID
    assert sum(w for _n, w in receipt.waived) == 90000 - due
    agreement.reverse_payment(receipt, on, "estorno")
    assert agreement.status.value == "active"
    assert [(i.paid, i.waived) for i in agreement.installments[1:]] == [(0, 0)] * 3
    assert agreement.remaining == 90000


def test_a_payoff_quoted_earlier_still_settles_when_paid_days_later() -> None:
    agreement = _agreement()
    quoted_on = DUES[0] - timedelta(days=5)
    quoted = agreement.payoff_amount(quoted_on)
    later = quoted_on + timedelta(days=3)
    assert agreement.payoff_amount(later) > quoted  # the value grows as dates approach
    receipt = agreement.pay_off(quoted, later, priced_on=quoted_on)
    assert agreement.status is AgreementStatus.PAID and receipt.credit == 0
    assert all(i.paid + i.waived == i.amount for i in agreement.installments)
