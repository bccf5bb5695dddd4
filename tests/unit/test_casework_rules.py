"""Pure rules of case work: the frequency cap with calls, when an account may be
contacted at all, which contact may be used, promises to pay and their follow-up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from collection.agency.casework import (
    PromiseInput,
    PromiseState,
    follow_up_of,
    promise_outcome,
    promise_problems,
    read_promise,
)
from collection.domain import contact_rules as rules

TODAY = date(2026, 12, 2)
AT = datetime(2026, 12, 2, 13, tzinfo=UTC)  # 10:00 in São Paulo


def test_one_contact_a_day_per_creditor_and_three_a_week_in_all() -> None:
    assert not rules.over_cap(0, 0)
    assert not rules.over_cap(0, 2)
    assert rules.over_cap(1, 1)  # a call or a message today by this creditor
    assert rules.over_cap(0, 3)  # three this week, by anyone


def test_the_day_starts_at_midnight_where_the_person_lives() -> None:
    late = datetime(2026, 12, 3, 2, 30, tzinfo=UTC)  # 23:30 on the 2nd in São Paulo
    assert rules.day_start(late, "SP") == datetime(2026, 12, 2, tzinfo=rules.SAO_PAULO)
    assert rules.day_start(late, "AM").date() == date(2026, 12, 2)  # 22:30 in Manaus


@pytest.mark.parametrize(
    ("debts", "open_agreement", "rule"),
    [
        ([(False, False)], False, ""),
        ([(True, False), (False, False)], False, ""),  # something is still collectable
        ([(True, False)], False, "prescribed"),
        ([(False, True)], False, "disputed"),
        ([(True, False), (False, True)], False, "disputed"),
        ([], False, "not_due"),
        ([], True, ""),  # an agreement the person took on may be followed up
    ],
)
def test_an_account_whose_debts_are_all_prescribed_or_disputed_gets_no_active_collection(
    debts: list[tuple[bool, bool]], open_agreement: bool, rule: str
) -> None:
    assert rules.account_block(debts, open_agreement=open_agreement) == rule


def test_a_contact_not_the_persons_or_opted_out_is_never_used() -> None:
    def block(channel: str = "sms", **facts: bool) -> str:
        base = {"found": True, "not_mine": False, "opted_out": False, "whatsapp_opt_in": False}
        return rules.contact_block(channel, **{**base, **facts})

    assert block() == ""
    assert block(found=False) == "no_contact"
    assert block(not_mine=True, opted_out=True) == "not_mine"
    assert block(opted_out=True) == "opted_out"
    assert block("whatsapp") == "no_whatsapp_opt_in"
    assert block("whatsapp", whatsapp_opt_in=True) == ""


def test_an_agents_text_is_plain_braces_and_all() -> None:
    text = rules.plain_text("Contrato {contrato} e {x}")
    assert rules.check_template(text) == []
    assert rules.render(text, {"contrato": "CT-1"}, footer="F").startswith("Contrato {contrato}")
    assert rules.check_template(rules.plain_text("Última chance!"))  # still checked


def test_a_promise_is_positive_not_in_the_past_with_a_close_follow_up() -> None:
    ok = PromiseInput(15_000, TODAY + timedelta(days=5), TODAY + timedelta(days=8))
    assert promise_problems(ok, TODAY) == {}
    bad = PromiseInput(0, TODAY - timedelta(days=1), TODAY - timedelta(days=1))
    assert set(promise_problems(bad, TODAY)) == {"amount", "promised_on", "follow_up_on"}
    late = PromiseInput(100, TODAY, TODAY + timedelta(days=4))
    assert set(promise_problems(late, TODAY)) == {"follow_up_on"}
    far = PromiseInput(100, TODAY + timedelta(days=200), TODAY + timedelta(days=200))
    assert set(promise_problems(far, TODAY)) == {"promised_on"}


def test_a_promise_is_read_as_typed_and_the_follow_up_defaults_to_the_promised_date() -> None:
    promise, errors = read_promise("1.234,56", "07/12/2026", "", TODAY)
    assert errors == {} and promise == PromiseInput(123_456, date(2026, 12, 7), date(2026, 12, 7))
    promise, errors = read_promise("abc", "31/02/2026", "x", TODAY)
    assert promise is None and set(errors) == {"amount", "promised_on", "follow_up_on"}


def test_a_promise_is_kept_by_payments_by_its_date_and_broken_after_it() -> None:
    on = TODAY + timedelta(days=3)
    assert promise_outcome(10_000, on, 10_000, TODAY) == "kept"
    assert promise_outcome(10_000, on, 9_999, on) == "open"
    assert promise_outcome(10_000, on, 9_999, on + timedelta(days=1)) == "broken"


def test_the_follow_up_is_the_earliest_pending_one() -> None:
    first = PromiseState("open", AT, TODAY + timedelta(days=5), TODAY + timedelta(days=6))
    second = PromiseState("open", AT, TODAY + timedelta(days=2), TODAY + timedelta(days=3))
    kept = PromiseState("kept", AT, TODAY + timedelta(days=1), TODAY + timedelta(days=1))
    assert follow_up_of([first, second, kept], None) == TODAY + timedelta(days=3)
    assert follow_up_of([kept], None) is None
    # A call on (or after) the follow-up day does the follow-up.
    called = datetime(2026, 12, 5, 13, tzinfo=UTC)
    assert follow_up_of([second], called) is None
    assert follow_up_of([first], called) == TODAY + timedelta(days=6)
    # A broken promise asks for a call after its date; one made after it settles it.
    broken = PromiseState("broken", AT, TODAY + timedelta(days=2), TODAY + timedelta(days=2))
    assert follow_up_of([broken], called - timedelta(days=1)) == TODAY + timedelta(days=3)
    assert follow_up_of([broken], called) is None
    # A call before the promise was recorded does not count.
    assert follow_up_of([second], AT - timedelta(hours=1)) == TODAY + timedelta(days=3)
