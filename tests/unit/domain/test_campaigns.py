"""Campaigns: inside the window they only improve the policy and never pass the law's
limits; outside it, and for the control group, nothing changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collection.domain.campaigns import Campaign, CampaignTerms, campaign_book, in_control
from collection.domain.errors import PolicyError
from collection.domain.offers import make_offers
from collection.domain.policy import (
    MAX_INSTALLMENTS_CAP,
    MIN_VALIDITY_DAYS,
    MONTHLY_RATE_CAP,
    AgeBucket,
    NegotiationPolicy,
    PolicyBook,
)
from tests.unit.domain.strategies import ON_DATES, debts_for, fractions, policies


@st.composite
def campaign_terms(draw: st.DrawFn) -> CampaignTerms:
    return CampaignTerms(
        cash_discount_charges=draw(fractions()),
        cash_discount_principal=draw(fractions()),
        installment_discount_charges=draw(fractions()),
        installment_discount_principal=draw(fractions()),
        max_installments=draw(st.integers(1, MAX_INSTALLMENTS_CAP)),
        monthly_rate=draw(st.none() | fractions(10)),
    )


@st.composite
def campaigns(draw: st.DrawFn) -> Campaign:
    starts = draw(ON_DATES)
    low = draw(st.integers(0, 800))
    high = draw(st.none() | st.integers(low, 2000))
    return Campaign(
        key=draw(st.uuids()).hex,
        starts_on=starts,
        ends_on=starts + timedelta(days=draw(st.integers(0, 60))),
        terms=draw(campaign_terms()),
        min_days=low,
        max_days=high,
        control_basis_points=draw(st.integers(0, 5000)),
    )


def _bucket(policy: NegotiationPolicy | PolicyBook, days: int) -> AgeBucket:
    plain = policy.default if isinstance(policy, PolicyBook) else policy
    found = plain.bucket_for(days)
    assert found is not None
    return found


@settings(max_examples=200, deadline=None)
@given(policies(), campaigns(), st.integers(0, 60), st.integers(0, 3000))
def test_inside_the_window_a_campaign_only_improves_and_stays_within_the_law(
    policy: NegotiationPolicy, campaign: Campaign, day: int, days_late: int
) -> None:
    on = campaign.starts_on + timedelta(days=min(day, (campaign.ends_on - campaign.starts_on).days))
    made = campaign_book(policy, campaign, on, control=False, portfolios=frozenset())
    old, new = _bucket(policy, days_late), _bucket(made, days_late)
    # The bucket the constructor accepted already obeys the law's limits; check them again.
    assert new.installment_discount_charges <= new.cash_discount_charges <= 1
    assert new.installment_discount_principal <= new.cash_discount_principal <= 1
    assert 1 <= new.max_installments <= MAX_INSTALLMENTS_CAP
    assert 0 <= new.monthly_rate <= MONTHLY_RATE_CAP
    assert new.validity_days >= MIN_VALIDITY_DAYS
    inside = days_late >= campaign.min_days and (
        campaign.max_days is None or days_late <= campaign.max_days
    )
    if not inside:  # the same terms (a split bucket has narrower bounds)
        assert replace(new, min_days=old.min_days, max_days=old.max_days) == old
        return
    assert new.cash_discount_charges >= old.cash_discount_charges
    assert new.cash_discount_principal >= old.cash_discount_principal
    assert new.installment_discount_charges >= old.installment_discount_charges
    assert new.installment_discount_principal >= old.installment_discount_principal
    assert new.max_installments >= old.max_installments
    assert new.monthly_rate <= old.monthly_rate
    # An offer of the campaign stands no later than its last day, unless the law's
    # minimum validity needs more.
    assert on + timedelta(days=new.validity_days) <= max(
        campaign.ends_on, on + timedelta(days=MIN_VALIDITY_DAYS)
    )


@settings(max_examples=150, deadline=None)
@given(policies(), campaigns(), st.integers(1, 400), st.data())
def test_outside_the_window_and_in_the_control_group_nothing_changes(
    policy: NegotiationPolicy, campaign: Campaign, shift: int, data: st.DataObject
) -> None:
    before = campaign.starts_on - timedelta(days=shift)
    after = campaign.ends_on + timedelta(days=shift)
    for on in (before, after):
        assert campaign_book(policy, campaign, on, control=False, portfolios=frozenset()) is policy
    assert (
        campaign_book(policy, campaign, campaign.starts_on, control=True, portfolios=frozenset())
        is policy
    )
    debts = data.draw(debts_for(after))
    assert make_offers(
        debts, campaign_book(policy, campaign, after, control=False, portfolios=frozenset()), after
    ) == make_offers(debts, policy, after)


@settings(max_examples=100, deadline=None)
@given(policies(), campaigns(), st.data())
def test_offers_in_the_campaign_are_never_dearer(
    policy: NegotiationPolicy, campaign: Campaign, data: st.DataObject
) -> None:
    on = campaign.starts_on
    debts = data.draw(debts_for(on))
    normal = make_offers(debts, policy, on)
    made = make_offers(
        debts, campaign_book(policy, campaign, on, control=False, portfolios=frozenset()), on
    )
    cash = [o for o in normal if o.code == "cash"]
    cash_campaign = [o for o in made if o.code == "cash"]
    if cash and cash_campaign:
        assert cash_campaign[0].total <= cash[0].total


def test_only_the_chosen_portfolios_get_the_campaign() -> None:
    policy = NegotiationPolicy(buckets=(AgeBucket(0, None, cash_discount_charges=Decimal("0.1")),))
    campaign = Campaign(
        key="c1",
        starts_on=date(2026, 11, 1),
        ends_on=date(2026, 11, 30),
        terms=CampaignTerms(cash_discount_charges=Decimal("0.9"), max_installments=24),
        portfolios=frozenset({"p1"}),
    )
    book = campaign_book(
        policy, campaign, date(2026, 11, 10), control=False, portfolios=frozenset({"p1", "p2"})
    )
    assert isinstance(book, PolicyBook)
    assert book.for_portfolio("p1").buckets[0].cash_discount_charges == Decimal("0.9")
    assert book.for_portfolio("p1").buckets[0].max_installments == 24
    assert book.for_portfolio("p1").buckets[0].validity_days == 5
    assert book.for_portfolio("p2") is policy


def test_an_age_segment_splits_the_bucket_it_cuts() -> None:
    policy = NegotiationPolicy(buckets=(AgeBucket(0, 365), AgeBucket(366, None)))
    campaign = Campaign(
        key="c",
        starts_on=date(2026, 11, 1),
        ends_on=date(2026, 11, 28),
        terms=CampaignTerms(cash_discount_principal=Decimal("0.5")),
        min_days=181,
        max_days=720,
    )
    made = campaign_book(
        policy, campaign, date(2026, 11, 27), control=False, portfolios=frozenset()
    )
    assert isinstance(made, NegotiationPolicy)
    spans = [(b.min_days, b.max_days, b.cash_discount_principal) for b in made.buckets]
    half, none = Decimal("0.5"), Decimal(0)
    assert spans == [(0, 180, none), (181, 365, half), (366, 720, half), (721, None, none)]
    # One day before the end: the offer still stands the law's two days.
    assert made.buckets[1].validity_days == MIN_VALIDITY_DAYS


def test_the_control_group_is_stable_and_near_its_share() -> None:
    first = [in_control("camp", f"debtor-{n}", 2000) for n in range(5000)]
    again = [in_control("camp", f"debtor-{n}", 2000) for n in reversed(range(5000))]
    assert first == list(reversed(again))
    assert 900 <= sum(first) <= 1100
    assert not any(in_control("camp", f"debtor-{n}", 0) for n in range(100))


@pytest.mark.parametrize(
    "changes",
    [
        {"ends_on": date(2026, 10, 31)},
        {"control_basis_points": 5001},
        {"min_days": 10, "max_days": 5},
    ],
)
def test_a_campaign_that_contradicts_itself_is_refused(changes: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "key": "c",
        "starts_on": date(2026, 11, 1),
        "ends_on": date(2026, 11, 30),
        "terms": CampaignTerms(),
        **changes,
    }
    with pytest.raises(PolicyError):
        Campaign(**fields)  # type: ignore[arg-type]


def test_terms_beyond_the_law_are_refused() -> None:
    with pytest.raises(PolicyError):
        CampaignTerms(cash_discount_charges=Decimal("1.01"))
    with pytest.raises(PolicyError):
        CampaignTerms(max_installments=MAX_INSTALLMENTS_CAP + 1)
    with pytest.raises(PolicyError):
        CampaignTerms(monthly_rate=Decimal("0.11"))
