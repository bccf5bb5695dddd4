"""Special offers: terms beyond the policy, within the law, disclosed like any offer."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from collection.domain.agreements import Agreement
from collection.domain.business_days import is_business_day
from collection.domain.money import apply_rate
from collection.domain.offers import OfferKind
from collection.domain.price import price_installment, yearly_rate
from collection.domain.special_offer import (
    InvalidSpecialOffer,
    Problem,
    SpecialTerms,
    check_terms,
    propose_offer,
    special_offer,
)
from tests.unit.domain.strategies import ON_DATES
from tests.unit.domain.test_cet import cmn_3517_reference

ON = date(2025, 6, 2)  # a Monday
UNTIL = date(2025, 6, 9)


def _terms(**changes: object) -> SpecialTerms:
    values: dict[str, object] = {
        "discount_rate": Decimal("0.30"),
        "payments": 1,
        "monthly_rate": Decimal("0"),
        "valid_until": UNTIL,
    }
    values.update(changes)
    return SpecialTerms(**values)  # type: ignore[arg-type]


def test_a_cash_special_offer_waives_the_discount_against_the_balance():
    offer = propose_offer(200_000, 50_000, _terms(), ON, debts=("CT-1",))
    assert offer.kind is OfferKind.CASH
    assert offer.discount == 60_000 and offer.total == 140_000
    assert offer.interest == 0 and offer.cet_yearly == 0
    assert offer.installment_dates == (UNTIL,) and offer.valid_until == UNTIL
    assert offer.debts == ("CT-1",)


def test_the_discount_waives_the_charges_before_the_principal():
    offer = special_offer(200_000, 50_000, _terms())
    assert offer.discount_on_charges == 50_000 and offer.discount_on_principal == 10_000
    small = special_offer(200_000, 50_000, _terms(discount_rate=Decimal("0.10")))
    assert small.discount_on_charges == 20_000 and small.discount_on_principal == 0


def test_an_installment_plan_is_a_price_table_with_its_cet_stated():
    terms = _terms(discount_rate=Decimal("0"), payments=12, monthly_rate=Decimal("0.02"))
    offer = propose_offer(1_000_000, 0, terms, ON)
    assert offer.installment_amounts[0] == 94_560  # DOMAIN.md: R$ 10.000,00 at 2% in 12
    assert sum(offer.installment_amounts) == offer.total
    assert offer.yearly_rate == yearly_rate(Decimal("0.02"))
    flows = [
        (offer.start_date, offer.negotiated),
        *zip(offer.installment_dates, offer.installment_amounts, strict=True),
    ]
    assert offer.cet_yearly == cmn_3517_reference(flows)
    assert offer.cet_yearly > 0
    assert offer.code == "special-installments-12"


def test_a_down_payment_counts_as_one_of_the_payments_and_falls_on_the_first_due_date():
    terms = _terms(payments=4, monthly_rate=Decimal("0.015"), down_payment=20_000)
    offer = propose_offer(200_000, 50_000, terms, ON)
    assert offer.payment_count == 4 and offer.installment_count == 3
    assert offer.down_payment == 20_000 and offer.down_payment_due == UNTIL
    assert offer.installment_amounts[0] == price_installment(120_000, Decimal("0.015"), 3)
    assert offer.total == 20_000 + sum(offer.installment_amounts)
    assert offer.code == "special-down-payment+3"


def test_a_due_date_on_a_holiday_or_weekend_moves_to_the_next_business_day():
    offer = special_offer(100_000, 0, _terms(valid_until=date(2025, 12, 25), payments=3))
    assert offer.start_date == date(2025, 12, 26)
    assert all(is_business_day(d) for d in offer.installment_dates)


def test_the_discount_must_lie_between_zero_and_one_hundred_percent():
    for rate in ("-0.01", "1.01"):
        problems = check_terms(_terms(discount_rate=Decimal(rate)), 100_000, ON)
        assert problems == {"discount_rate": Problem.DISCOUNT_RANGE}


def test_a_discount_of_everything_leaves_nothing_to_pay_and_is_refused():
    problems = check_terms(_terms(discount_rate=Decimal("1")), 100_000, ON)
    assert problems == {"discount_rate": Problem.NOTHING_TO_PAY}


def test_installments_lie_between_one_and_one_hundred_twenty():
    assert check_terms(_terms(payments=0), 100_000, ON) == {"payments": Problem.PAYMENTS_RANGE}
    assert check_terms(_terms(payments=121), 100_000, ON) == {"payments": Problem.PAYMENTS_RANGE}
    assert check_terms(_terms(payments=120, monthly_rate=Decimal("0.01")), 1_000_000, ON) == {}


def test_the_rate_is_never_negative_nor_above_the_platform_cap():
    negative = check_terms(_terms(payments=3, monthly_rate=Decimal("-0.01")), 100_000, ON)
    assert negative == {"monthly_rate": Problem.RATE_NEGATIVE}
    high = check_terms(_terms(payments=3, monthly_rate=Decimal("0.11")), 100_000, ON)
    assert high == {"monthly_rate": Problem.RATE_ABOVE_CAP}
    fine = check_terms(_terms(payments=3, monthly_rate=Decimal("0.0199")), 100_000, ON)
    assert fine == {}


def test_a_special_plan_never_charges_more_interest_than_the_policy():
    terms = _terms(payments=6, monthly_rate=Decimal("0.025"))
    problems = check_terms(terms, 100_000, ON, max_monthly_rate=Decimal("0.0199"))
    assert problems == {"monthly_rate": Problem.RATE_ABOVE_POLICY}
    lower = check_terms(
        _terms(payments=6, monthly_rate=Decimal("0.01")),
        100_000,
        ON,
        max_monthly_rate=Decimal("0.0199"),
    )
    assert lower == {}


def test_rates_have_at_most_two_decimal_places_in_percent():
    problems = check_terms(_terms(payments=2, monthly_rate=Decimal("0.01995")), 100_000, ON)
    assert problems == {"monthly_rate": Problem.RATE_PRECISION}


def test_an_offer_stands_for_at_least_two_days():
    assert check_terms(_terms(valid_until=ON), 100_000, ON) == {
        "valid_until": Problem.VALIDITY_TOO_SHORT
    }
    assert check_terms(_terms(valid_until=ON + timedelta(days=1)), 100_000, ON) == {
        "valid_until": Problem.VALIDITY_TOO_SHORT
    }
    assert check_terms(_terms(valid_until=ON + timedelta(days=2)), 100_000, ON) == {}


def test_a_down_payment_needs_installments_and_must_be_less_than_the_total():
    cash = check_terms(_terms(down_payment=10_000), 100_000, ON)
    assert cash == {"down_payment": Problem.DOWN_PAYMENT_RANGE}
    whole = check_terms(_terms(payments=3, down_payment=70_000), 100_000, ON)
    assert whole == {"down_payment": Problem.DOWN_PAYMENT_RANGE}


def test_an_installment_of_zero_centavos_is_refused():
    problems = check_terms(_terms(discount_rate=Decimal("0"), payments=120), 50, ON)
    assert problems == {"payments": Problem.INSTALLMENT_TOO_SMALL}


def test_invalid_terms_raise_with_every_problem_named():
    with pytest.raises(InvalidSpecialOffer) as caught:
        propose_offer(
            100_000, 0, _terms(payments=0, valid_until=ON, monthly_rate=Decimal("-1")), ON
        )
    assert set(caught.value.problems) == {"payments", "valid_until", "monthly_rate"}


def test_an_approved_special_offer_becomes_an_agreement_with_the_same_schedule():
    terms = _terms(payments=5, monthly_rate=Decimal("0.0149"), down_payment=15_000)
    offer = propose_offer(300_000, 80_000, terms, ON)
    agreement = Agreement.from_offer(offer, ON + timedelta(days=3), 5)
    assert agreement.total == offer.total
    assert [i.amount for i in agreement.installments] == [
        offer.down_payment,
        *offer.installment_amounts,
    ]


@st.composite
def proposals(
    draw: st.DrawFn, min_payments: int = 1, max_payments: int = 120
) -> tuple[int, int, SpecialTerms, date]:
    on = draw(ON_DATES)
    balance = draw(st.integers(1_000, 50_000_000))
    charges = draw(st.integers(0, balance))
    payments = draw(st.integers(min_payments, max_payments))
    down = 0
    if payments > 1 and draw(st.booleans()):
        down = draw(st.integers(1, balance // 4))
    terms = SpecialTerms(
        discount_rate=Decimal(draw(st.integers(0, 9_000))) / 10_000,
        payments=payments,
        monthly_rate=Decimal(0) if payments == 1 else Decimal(draw(st.integers(0, 800))) / 10_000,
        valid_until=on + timedelta(days=draw(st.integers(2, 60))),
        down_payment=down,
    )
    return balance, charges, terms, on


@settings(max_examples=200, deadline=None)
@given(proposals())
def test_every_special_schedule_sums_exactly_to_its_total(case):
    balance, charges, terms, on = case
    assume(check_terms(terms, balance, on) == {})
    offer = special_offer(balance, charges, terms)
    assert offer.down_payment + sum(offer.installment_amounts) == offer.total
    assert offer.negotiated == balance - apply_rate(balance, terms.discount_rate)
    assert offer.total >= offer.negotiated  # interest is never negative
    assert offer.payment_count == terms.payments
    assert all(amount > 0 for amount in offer.installment_amounts)
    assert all(is_business_day(d) for d in offer.installment_dates)
    assert list(offer.installment_dates) == sorted(offer.installment_dates)
    assert offer.first_due_date >= terms.valid_until
    assert offer.discount_on_charges <= charges


@settings(max_examples=40, deadline=None)
@given(proposals(min_payments=2, max_payments=24))
def test_every_special_plan_states_its_cet_as_cmn_3517_defines_it(case):
    balance, charges, terms, on = case
    assume(check_terms(terms, balance, on) == {})
    offer = special_offer(balance, charges, terms)
    flows = [(offer.start_date, offer.negotiated)]
    if offer.down_payment:
        flows.append((offer.start_date, offer.down_payment))
    flows.extend(zip(offer.installment_dates, offer.installment_amounts, strict=True))
    assert abs(offer.cet_yearly - cmn_3517_reference(flows)) <= Decimal("0.0001")
    if offer.interest == 0:  # a rate of zero, or one too small to cost a centavo
        assert offer.cet_yearly == 0


def test_a_persons_proposal_becomes_interest_free_terms_that_never_exceed_it() -> None:
    from collection.domain.special_offer import terms_from_proposal

    on = date(2025, 6, 2)
    terms = terms_from_proposal(100_000, 3_000, 10, on + timedelta(days=15))
    assert terms.payments == 10 and terms.monthly_rate == 0
    assert check_terms(terms, 100_000, on) == {}
    offer = special_offer(100_000, 20_000, terms)
    assert offer.total <= 30_000 and offer.total >= 29_990
    assert offer.installment_count == 10 and max(offer.installment_amounts) <= 3_001
    # Offering more than the balance waives nothing.
    assert terms_from_proposal(10_000, 5_000, 3, on).discount_rate == 0
