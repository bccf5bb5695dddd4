"""The rules of escalation: prior notice, waiting period, no prescribed or disputed debt,
removal within 5 business days after payment."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from collection.domain.business_days import add_years, is_business_day
from collection.domain.escalation import (
    MIN_WAIT_DAYS,
    Block,
    DebtFacts,
    eligible_on,
    has_postal_address,
    is_prescribed,
    may_decide,
    may_list,
    may_notify,
    removal_due,
)

TODAY = date(2026, 12, 1)
any_day = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


def facts(**changes: object) -> DebtFacts:
    base: dict[str, object] = {
        "is_open": True,
        "due_date": date(2026, 1, 10),
        "disputed": False,
        "has_postal_address": True,
        "escalated": False,
    }
    base.update(changes)
    return DebtFacts(**base)  # type: ignore[arg-type]


def test_an_open_recent_debt_with_an_address_may_be_notified() -> None:
    assert may_notify(facts(), TODAY) is None


def test_a_debt_prescribed_from_its_fifth_anniversary_is_never_notified() -> None:
    due = date(2021, 12, 1)
    assert may_notify(facts(due_date=due), TODAY) is Block.PRESCRIBED
    assert may_notify(facts(due_date=due + timedelta(days=1)), TODAY) is None


def test_a_disputed_debt_is_never_notified_listed_or_decided() -> None:
    disputed = facts(disputed=True)
    assert may_notify(disputed, TODAY) is Block.DISPUTED
    assert may_list(disputed, date(2026, 10, 1), 10, TODAY) is Block.DISPUTED
    assert may_decide(disputed, TODAY) is Block.DISPUTED


def test_a_debt_not_open_is_not_escalated() -> None:
    closed = facts(is_open=False)
    assert may_notify(closed, TODAY) is Block.NOT_OPEN
    assert may_list(closed, date(2026, 10, 1), 10, TODAY) is Block.NOT_OPEN
    assert may_decide(closed, TODAY) is Block.NOT_OPEN


def test_a_notice_needs_a_complete_postal_address() -> None:
    assert may_notify(facts(has_postal_address=False), TODAY) is Block.NO_ADDRESS
    assert has_postal_address("Rua A, 1", "São Paulo", "SP", "01310-100")
    assert not has_postal_address("Rua A, 1", "São Paulo", "SP", "")
    assert not has_postal_address("", "São Paulo", "SP", "01310100")
    assert not has_postal_address("Rua A, 1", "", "SP", "01310100")
    assert not has_postal_address("Rua A, 1", "São Paulo", "São Paulo", "01310100")
    assert not has_postal_address("Rua A, 1", "São Paulo", "SP", "0131010")


def test_a_debt_already_under_negativacao_gets_no_second_notice() -> None:
    assert may_notify(facts(escalated=True), TODAY) is Block.ALREADY_ESCALATED


def test_listing_needs_the_notice_posted() -> None:
    assert may_list(facts(), None, 10, TODAY) is Block.NOT_POSTED


def test_listing_waits_the_tenant_days_after_posting() -> None:
    posted = date(2026, 11, 16)
    assert may_list(facts(), posted, 15, date(2026, 11, 30)) is Block.WAITING
    assert may_list(facts(), posted, 15, date(2026, 12, 1)) is None


def test_the_wait_is_never_shorter_than_ten_days() -> None:
    posted = date(2026, 11, 25)
    assert eligible_on(posted, 3) == posted + timedelta(days=MIN_WAIT_DAYS)
    assert may_list(facts(), posted, 3, date(2026, 12, 1)) is Block.WAITING


def test_a_debt_prescribed_during_the_wait_is_not_listed() -> None:
    due = date(2021, 11, 20)
    assert may_notify(facts(due_date=due), date(2026, 11, 1)) is None
    assert may_list(facts(due_date=due), date(2026, 11, 2), 10, TODAY) is Block.PRESCRIBED


def test_protesto_and_judicial_never_for_prescribed_debts_nor_twice() -> None:
    assert may_decide(facts(due_date=date(2020, 1, 1)), TODAY) is Block.PRESCRIBED
    assert may_decide(facts(escalated=True), TODAY) is Block.ALREADY_ESCALATED
    assert may_decide(facts(has_postal_address=False), TODAY) is None


def test_removal_is_due_five_business_days_after_payment() -> None:
    # Friday 2026-11-27 → Mon 30, Tue 1, Wed 2, Thu 3, Fri 4.
    assert removal_due(date(2026, 11, 27)) == date(2026, 12, 4)
    # Paid on Thursday 2026-12-17: Fri 18, Mon 21, Tue 22, Wed 23, Thu 24 (25 is Christmas).
    assert removal_due(date(2026, 12, 17)) == date(2026, 12, 24)
    assert removal_due(date(2026, 12, 18)) == date(2026, 12, 28)


def test_local_holidays_push_the_removal_deadline() -> None:
    assert removal_due(date(2026, 11, 27), holidays=[date(2026, 12, 2)]) == date(2026, 12, 7)


@given(any_day)
def test_removal_deadline_is_a_business_day_with_exactly_five_before_it(paid: date) -> None:
    due = removal_due(paid)
    assert is_business_day(due)
    between = [paid + timedelta(days=n) for n in range(1, (due - paid).days + 1)]
    assert sum(1 for d in between if is_business_day(d)) == 5
    assert (due - paid).days <= 14


@given(any_day, any_day)
def test_prescription_is_the_fifth_anniversary(due: date, today: date) -> None:
    assert is_prescribed(due, today) == (today >= add_years(due, 5))
    if is_prescribed(due, today):
        assert may_notify(facts(due_date=due), today) is Block.PRESCRIBED


@given(any_day, st.integers(0, 60), st.integers(0, 120))
def test_listing_is_allowed_exactly_from_the_end_of_the_wait(
    posted: date, wait: int, after: int
) -> None:
    today = posted + timedelta(days=after)
    recent = facts(due_date=today - timedelta(days=60))
    block = may_list(recent, posted, wait, today)
    assert (block is None) == (after >= max(wait, MIN_WAIT_DAYS))
