from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from collection.domain.affordability import (
    MINIMO_EXISTENCIAL,
    affordable_plan,
    choose_affordable,
    leaves_minimo_existencial,
)
from collection.domain.offers import OfferKind, make_offers
from collection.domain.policy import AgeBucket, NegotiationPolicy
from collection.domain.valuation import ContractTerms, Debt
from tests.unit.domain.strategies import ON_DATES, debts_for, policies

ON = date(2025, 6, 2)
POLICY = NegotiationPolicy(
    (
        AgeBucket(
            0,
            max_installments=12,
            monthly_rate=Decimal("0.02"),
            min_installment=5000,
            min_down_payment_rate=Decimal("0.2"),
        ),
    ),
    charges=ContractTerms(Decimal("0.02"), Decimal("0.01")),
)
DEBT = Debt.single("a", 1_000_000, ON)  # R$ 10.000,00, not late


def test_budget_that_covers_the_cash_price_gets_the_cash_offer() -> None:
    result = affordable_plan([DEBT], POLICY, ON, monthly_budget=2_000_000)
    assert result.offer is not None and result.offer.kind is OfferKind.CASH


def test_budget_gets_the_cheapest_plan_that_fits() -> None:
    result = affordable_plan([DEBT], POLICY, ON, monthly_budget=100_000)
    offer = result.offer
    assert offer is not None
    assert offer.largest_payment <= 100_000
    cheaper = [
        o
        for o in make_offers([DEBT], POLICY, ON)
        if o.total < offer.total and o.largest_payment <= 100_000
    ]
    assert cheaper == []


def test_budget_below_every_plan_says_none_fits() -> None:
    result = affordable_plan([DEBT], POLICY, ON, monthly_budget=10_000)
    assert result.offer is None
    assert result.reason is not None and "menor parcela possível" in result.reason


def test_income_at_or_below_the_minimo_existencial_gets_no_plan() -> None:
    result = affordable_plan([DEBT], POLICY, ON, monthly_budget=100_000, income=MINIMO_EXISTENCIAL)
    assert result.offer is None
    assert result.reason is not None and "mínimo existencial" in result.reason


def test_income_narrows_the_budget_to_keep_the_minimo_existencial() -> None:
    result = affordable_plan([DEBT], POLICY, ON, monthly_budget=500_000, income=160_000)
    assert result.offer is not None
    assert 160_000 - result.offer.largest_payment >= MINIMO_EXISTENCIAL


def test_non_positive_budget_is_refused() -> None:
    assert affordable_plan([DEBT], POLICY, ON, monthly_budget=0).offer is None


def test_no_offers_means_no_plan() -> None:
    assert choose_affordable([], 100_000).offer is None


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(1000, 2_000_000), st.one_of(st.none(), st.integers(0, 3_000_000)))
def test_never_a_plan_that_breaks_the_budget_or_the_minimo_existencial(
    data: st.DataObject, budget: int, income: int | None
) -> None:
    on = data.draw(ON_DATES)
    policy = data.draw(policies())
    debts = data.draw(debts_for(on))
    result = affordable_plan(debts, policy, on, budget, income)
    if result.offer is None:
        assert result.reason
        return
    payments = [result.offer.down_payment, *(p.amount for p in result.offer.installments)]
    assert max(payments) <= budget
    if income is not None:
        assert all(income - p >= MINIMO_EXISTENCIAL for p in payments)


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(1000, 2_000_000), st.one_of(st.none(), st.integers(0, 3_000_000)))
def test_every_plan_that_fits_is_one_the_offer_engine_produces(
    data: st.DataObject, budget: int, income: int | None
) -> None:
    # One engine: the fit page's plan is an offer of the engine for these debts, identical
    # in every disclosed term, and within the policy's count and minimum installment.
    on = data.draw(ON_DATES)
    policy = data.draw(policies())
    debts = data.draw(debts_for(on))
    offers = make_offers(debts, policy, on)
    result = choose_affordable(offers, budget, income)
    if result.offer is None:
        assert result.smallest is None or result.smallest in offers
        assert result.can_propose == (result.smallest is not None)
        return
    assert result.offer in offers
    again = {o.code: o for o in make_offers(list(reversed(debts)), policy, on)}
    assert again[result.offer.code] == result.offer
    days = [v.days_late for v in result.offer.valuations]
    buckets = [policy.bucket_for(d) for d in days]
    assert all(b is not None for b in buckets)
    assert result.offer.payment_count <= min(b.max_installments for b in buckets if b)
    if result.offer.kind is OfferKind.INSTALLMENTS:
        smallest_allowed = max(b.min_installment for b in buckets if b)
        assert min(result.offer.installment_amounts) >= smallest_allowed


def test_below_the_smallest_installment_the_person_may_propose() -> None:
    offers = make_offers([DEBT], POLICY, ON)
    result = choose_affordable(offers, 1000)  # R$ 10,00 a month: below every plan
    assert result.offer is None and result.can_propose
    assert result.smallest is not None
    assert result.smallest.largest_payment == min(o.largest_payment for o in offers)


def test_no_proposal_without_offers_or_when_the_income_leaves_nothing() -> None:
    assert not choose_affordable([], 100_000).can_propose
    offers = make_offers([DEBT], POLICY, ON)
    assert not choose_affordable(offers, 100_000, income=MINIMO_EXISTENCIAL).can_propose


@settings(max_examples=100, deadline=None)
@given(
    st.data(),
    st.integers(1000, 2_000_000),
    st.integers(0, 3_000_000),
    st.integers(0, 1_000_000),
)
def test_other_agreements_payments_count_against_the_minimo_existencial(
    data: st.DataObject, budget: int, income: int, committed: int
) -> None:
    # Issue 16 item 5: what the person already pays on other agreements counts too.
    on = data.draw(ON_DATES)
    offers = make_offers(data.draw(debts_for(on)), data.draw(policies()), on)
    result = choose_affordable(offers, budget, income, committed)
    if result.offer is not None:
        assert leaves_minimo_existencial(income, committed, result.offer.largest_payment)
        assert result.offer.largest_payment <= budget
    alone = choose_affordable(offers, budget, income)
    if alone.offer is None:
        assert result.offer is None  # more commitments never make a plan fit


def test_the_check_is_exact_to_the_centavo() -> None:
    assert leaves_minimo_existencial(200_000, 40_000, 100_000)  # leaves exactly R$ 600,00
    assert not leaves_minimo_existencial(200_000, 40_001, 100_000)
