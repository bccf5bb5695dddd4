from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from collection.domain.queue_score import MAX_SCORE, AccountFacts, queue_score

facts = st.builds(
    AccountFacts,
    days_overdue=st.integers(-30, 4000),
    open_amount=st.integers(0, 10**11),
    broken_agreements=st.integers(0, 5),
    days_since_contact=st.none() | st.integers(0, 400),
    promise_due=st.booleans(),
)


@settings(max_examples=300)
@given(facts)
def test_score_is_bounded_between_zero_and_one_thousand(f: AccountFacts) -> None:
    assert 0 <= queue_score(f) <= MAX_SCORE == 1000


@settings(max_examples=300)
@given(facts, st.integers(0, 4000))
def test_an_older_account_never_scores_lower(f: AccountFacts, more: int) -> None:
    older = replace(f, days_overdue=f.days_overdue + more)
    assert queue_score(older) >= queue_score(f)


@settings(max_examples=300)
@given(facts, st.integers(0, 10**10))
def test_a_larger_open_amount_never_scores_lower(f: AccountFacts, more: int) -> None:
    larger = replace(f, open_amount=f.open_amount + more)
    assert queue_score(larger) >= queue_score(f)


@settings(max_examples=200)
@given(facts)
def test_a_broken_agreement_or_a_promise_due_never_lowers_the_score(f: AccountFacts) -> None:
    broken = replace(f, broken_agreements=f.broken_agreements + 1)
    assert queue_score(broken) >= queue_score(f)
    assert queue_score(replace(f, promise_due=True)) >= queue_score(replace(f, promise_due=False))


@settings(max_examples=200)
@given(facts, st.integers(0, 100))
def test_a_recent_contact_never_scores_higher_than_an_older_one(f: AccountFacts, d: int) -> None:
    recent = replace(f, days_since_contact=d)
    older = replace(f, days_since_contact=d + 1)
    never = replace(f, days_since_contact=None)
    assert queue_score(recent) <= queue_score(older) <= queue_score(never)


def test_the_weights_add_up_as_documented() -> None:
    top = AccountFacts(
        days_overdue=1825,
        open_amount=10_000_000,  # R$ 100.000,00
        broken_agreements=2,
        days_since_contact=None,
        promise_due=True,
    )
    assert queue_score(top) == 1000
    nothing = AccountFacts(days_overdue=0, open_amount=100, days_since_contact=0)
    assert queue_score(nothing) == 0
    # R$ 1.000,00 is three decades of five: 180 points of amount.
    assert queue_score(replace(nothing, open_amount=100_000)) == 180
    # Half of five years overdue: 150 points of age.
    assert queue_score(replace(nothing, days_overdue=912)) == 149
    assert queue_score(replace(nothing, days_overdue=913)) == 150
