"""An installment as a Pix charge with a due date (cobv): right on every payable day."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collection.domain.due_charge import DueCharge, amount_on, due_charge_for, split
from collection.domain.errors import AgreementError

DUE = date(2026, 12, 15)  # a Tuesday, a bank business day
amounts = st.integers(min_value=100, max_value=10**9)
fines = st.decimals(min_value=0, max_value=Decimal("0.02"), places=4)
interests = st.decimals(min_value=0, max_value=Decimal("0.01"), places=4)
plan_rates = st.decimals(min_value=0, max_value=Decimal("0.05"), places=4)


def _charge(amount: int, fine: Decimal, interest: Decimal, plan: Decimal) -> DueCharge:
    return due_charge_for(
        amount,
        DUE,
        issued_on=DUE - timedelta(days=10),
        plan_rate=plan,
        fine_rate=fine,
        interest_monthly=interest,
        grace_days=5,
    )


def test_late_fee_never_exceeds_two_percent() -> None:
    with pytest.raises(AgreementError):
        DueCharge(10_000, DUE, fine_rate=Decimal("0.0201"))


def test_a_late_payment_asks_the_fee_and_interest_pro_rata_die() -> None:
    charge = DueCharge(10_000, DUE, Decimal("0.02"), Decimal("0.01"), valid_days_after=5)
    late = amount_on(charge, DUE + timedelta(days=3))
    assert (late.fine, late.interest, late.total) == (200, 10, 10_210)
    assert amount_on(charge, DUE).total == 10_000
    with pytest.raises(AgreementError):
        amount_on(charge, DUE + timedelta(days=6))


def test_paying_early_gives_up_the_plans_interest_by_date() -> None:
    charge = _charge(10_000, Decimal("0.02"), Decimal("0.01"), Decimal("0.02"))
    assert [d for d, _off in charge.discounts] == [
        DUE - timedelta(days=10),
        DUE - timedelta(days=5),
        DUE - timedelta(days=1),
    ]
    offs = [off for _d, off in charge.discounts]
    assert offs == sorted(offs, reverse=True) and offs[0] == 10_000 - round(
        10_000 / 1.02 ** (10 / 30)
    )
    assert amount_on(charge, DUE - timedelta(days=7)).discount == offs[1]
    assert _charge(10_000, Decimal(0), Decimal(0), Decimal(0)).discounts == ()


@settings(deadline=None)
@given(
    amount=amounts,
    fine=fines,
    interest=interests,
    plan=plan_rates,
    offset=st.integers(min_value=-10, max_value=5),
)
def test_paying_what_the_charge_asks_on_any_payable_day_settles_the_installment(
    amount: int, fine: Decimal, interest: Decimal, plan: Decimal, offset: int
) -> None:
    charge = _charge(amount, fine, interest, plan)
    day = DUE + timedelta(days=offset)
    asked = amount_on(charge, day)
    assert asked.fine <= amount * Decimal("0.02") + Decimal("0.5")
    settled = split(charge, asked.total, day)
    assert settled.principal + settled.charges == asked.total
    assert settled.principal + settled.waived == amount
    assert settled.charges == asked.fine + asked.interest


@settings(deadline=None)
@given(
    amount=amounts,
    fine=fines,
    interest=interests,
    plan=plan_rates,
    paid=amounts,
    offset=st.integers(min_value=-10, max_value=9),
)
def test_what_was_paid_is_all_accounted_for_and_never_waived_beyond_the_discount(
    amount: int, fine: Decimal, interest: Decimal, plan: Decimal, paid: int, offset: int
) -> None:
    charge = _charge(amount, fine, interest, plan)
    day = DUE + timedelta(days=offset)
    settled = split(charge, paid, day)
    assert settled.principal + settled.charges == paid
    assert settled.waived <= max((off for _d, off in charge.discounts), default=0)
    if settled.waived:
        assert settled.principal + settled.waived == amount
