from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collection.domain.agreements import Agreement, AgreementStatus, Installment
from collection.domain.errors import AgreementError, IllegalTransition
from collection.domain.offers import Offer, make_offers
from collection.domain.policy import AgeBucket, NegotiationPolicy
from collection.domain.price import present_value
from collection.domain.valuation import ContractTerms, Debt

S = AgreementStatus
RATE = Decimal("0.02")
GRACE = 5
# Business days (checked by the constructor): 2025-06-09 Mon, 07-09 Wed, 08-11 Mon, 09-09 Tue.
DUES = [date(2025, 6, 9), date(2025, 7, 9), date(2025, 8, 11), date(2025, 9, 9)]
CREATED = date(2025, 6, 2)


def make(amounts: tuple[int, ...] = (10000, 30000, 30000, 30000)) -> Agreement:
    items = [Installment(n, due, a) for n, (due, a) in enumerate(zip(DUES, amounts, strict=False))]
    return Agreement(items, RATE, GRACE, CREATED, reference="acordo-1")


def offer() -> Offer:
    policy = NegotiationPolicy(
        (AgeBucket(0, max_installments=4, monthly_rate=RATE, min_installment=1000),),
        charges=ContractTerms(Decimal("0.02"), Decimal("0.01")),
    )
    offers = make_offers([Debt.single("d", 100000, date(2025, 3, 1))], policy, CREATED)
    return next(o for o in offers if o.down_payment)


def test_accepted_offer_becomes_an_agreement_awaiting_first_payment() -> None:
    chosen = offer()
    agreement = Agreement.from_offer(chosen, CREATED, GRACE)
    assert agreement.status is S.AWAITING_FIRST_PAYMENT
    assert agreement.installments[0].number == 0
    assert agreement.installments[0].amount == chosen.down_payment
    assert agreement.total == chosen.total
    assert agreement.monthly_rate == chosen.monthly_rate


def test_offer_accepted_after_its_validity_is_refused() -> None:
    chosen = offer()
    with pytest.raises(AgreementError):
        Agreement.from_offer(chosen, chosen.valid_until + timedelta(days=1), GRACE)


def test_installment_due_on_a_non_business_day_is_refused() -> None:
    with pytest.raises(AgreementError):
        Agreement([Installment(1, date(2025, 6, 7), 1000)], RATE, GRACE, CREATED)


def test_installment_due_on_a_bank_closing_day_is_paid_on_time_the_next_bank_day() -> None:
    # A stored schedule from before the bank calendar: Carnival Monday and Corpus Christi.
    items = [Installment(0, date(2027, 2, 8), 10000), Installment(1, date(2027, 5, 27), 10000)]
    agreement = Agreement(items, RATE, 0, date(2027, 2, 1))
    assert agreement.advance(date(2027, 2, 10)) is S.AWAITING_FIRST_PAYMENT
    agreement.receive_payment(10000, date(2027, 2, 10))  # Ash Wednesday: on time
    assert agreement.status is S.ACTIVE
    assert agreement.advance(date(2027, 5, 28)) is S.ACTIVE  # the Friday after Corpus Christi
    assert not agreement.overdue(date(2027, 5, 28))
    assert agreement.advance(date(2027, 5, 29)) is S.BROKEN  # grace 0: late from the 29th
    assert agreement.history[-2].on == date(2027, 5, 29)


def test_first_payment_makes_the_agreement_active() -> None:
    agreement = make()
    receipt = agreement.receive_payment(10000, DUES[0])
    assert agreement.status is S.ACTIVE
    assert receipt.applied == ((0, 10000),)
    assert agreement.history[-1].target is S.ACTIVE


def test_partial_first_payment_keeps_it_awaiting() -> None:
    agreement = make()
    agreement.receive_payment(4000, DUES[0])
    assert agreement.status is S.AWAITING_FIRST_PAYMENT
    assert agreement.installments[0].open_amount == 6000


def test_first_payment_missed_past_the_grace_days_breaks_it() -> None:
    agreement = make()
    assert agreement.advance(DUES[0] + timedelta(days=GRACE)) is S.AWAITING_FIRST_PAYMENT
    assert agreement.advance(DUES[0] + timedelta(days=GRACE + 1)) is S.BROKEN


def test_overdue_installment_makes_the_agreement_late_the_next_day() -> None:
    agreement = make()
    agreement.receive_payment(10000, DUES[0])
    assert agreement.advance(DUES[1]) is S.ACTIVE  # paying on the due date is on time
    assert agreement.advance(DUES[1] + timedelta(days=1)) is S.LATE


def test_late_agreement_paid_within_the_grace_days_is_cured() -> None:
    agreement = make()
    agreement.receive_payment(10000, DUES[0])
    agreement.advance(DUES[1] + timedelta(days=2))
    agreement.receive_payment(30000, DUES[1] + timedelta(days=GRACE))
    assert agreement.status is S.ACTIVE
    assert [t.target for t in agreement.history] == [S.ACTIVE, S.LATE, S.ACTIVE]


def test_partial_payment_of_a_late_installment_keeps_it_late() -> None:
    agreement = make()
    agreement.receive_payment(10000, DUES[0])
    agreement.receive_payment(20000, DUES[1] + timedelta(days=1))
    assert agreement.status is S.LATE
    assert agreement.installments[1].open_amount == 10000


def test_late_agreement_breaks_after_the_grace_days() -> None:
    agreement = make()
    agreement.receive_payment(10000, DUES[0])
    assert agreement.advance(DUES[1] + timedelta(days=GRACE + 1)) is S.BROKEN
    late, broken = agreement.history[-2:]
    assert (late.target, late.on) == (S.LATE, DUES[1] + timedelta(days=1))
    assert (broken.target, broken.on) == (S.BROKEN, DUES[1] + timedelta(days=GRACE + 1))


def test_payment_after_the_grace_days_finds_it_broken_and_becomes_credit() -> None:
    agreement = make()
    agreement.receive_payment(10000, DUES[0])
    receipt = agreement.receive_payment(30000, DUES[1] + timedelta(days=GRACE + 1))
    assert agreement.status is S.BROKEN
    assert receipt.applied == ()
    assert agreement.credit == 30000


def test_excess_payment_settles_the_next_installments_then_becomes_credit() -> None:
    agreement = make()
    receipt = agreement.receive_payment(50000, DUES[0], installment=0)
    assert receipt.applied == ((0, 10000), (1, 30000), (2, 10000))
    assert agreement.status is S.ACTIVE
    final = agreement.receive_payment(60000, DUES[2])
    assert final.applied == ((2, 20000), (3, 30000))
    assert final.credit == 10000
    assert final.status is S.PAID
    assert agreement.credit == 10000


def test_payment_issued_for_one_installment_goes_to_it_first() -> None:
    agreement = make()
    agreement.receive_payment(10000, DUES[0])
    receipt = agreement.receive_payment(30000, DUES[0], installment=3)
    assert receipt.applied == ((3, 30000),)
    assert agreement.installments[3].is_settled


def test_every_installment_paid_makes_it_paid() -> None:
    agreement = make()
    for due, amount in zip(DUES, (10000, 30000, 30000, 30000), strict=True):
        agreement.receive_payment(amount, due)
    assert agreement.status is S.PAID
    assert agreement.remaining == 0


@pytest.mark.parametrize("paid_first", [False, True])
def test_open_agreement_can_be_cancelled(paid_first: bool) -> None:
    agreement = make()
    if paid_first:
        agreement.receive_payment(10000, DUES[0])
    agreement.cancel(DUES[0], "contestação aceita pelo credor")
    assert agreement.status is S.CANCELLED


def test_late_agreement_can_be_cancelled() -> None:
    agreement = make()
    agreement.receive_payment(10000, DUES[0])
    agreement.advance(DUES[1] + timedelta(days=1))
    agreement.cancel(DUES[1] + timedelta(days=1), "pedido do devedor")
    assert agreement.status is S.CANCELLED


@pytest.mark.parametrize("final", ["paid", "broken", "cancelled"])
def test_closed_agreement_cannot_be_cancelled_cured_or_paid_off(final: str) -> None:
    agreement = make()
    if final == "paid":
        agreement.receive_payment(100000, DUES[0])
    elif final == "broken":
        agreement.advance(DUES[0] + timedelta(days=GRACE + 1))
    else:
        agreement.cancel(DUES[0], "teste")
    on = DUES[0] + timedelta(days=GRACE + 1)
    with pytest.raises(IllegalTransition):
        agreement.cancel(on, "de novo")
    with pytest.raises(IllegalTransition):
        agreement.cure(on)
    with pytest.raises(IllegalTransition):
        agreement.pay_off(100000, on)
    with pytest.raises(AgreementError):
        agreement.payoff_amount(on)
    assert agreement.advance(on + timedelta(days=90)).value == final


def test_cure_is_only_for_a_late_agreement_with_nothing_overdue() -> None:
    agreement = make()
    with pytest.raises(IllegalTransition):
        agreement.cure(CREATED)
    agreement.receive_payment(10000, DUES[0])
    agreement.advance(DUES[1] + timedelta(days=1))
    with pytest.raises(IllegalTransition, match="vencida"):
        agreement.cure(DUES[1] + timedelta(days=1))


def test_stored_late_agreement_with_nothing_overdue_can_be_cured() -> None:
    items = [
        Installment(1, DUES[1], 30000, paid=30000, settled_on=DUES[1]),
        Installment(2, DUES[2], 30000),
    ]
    agreement = Agreement(items, RATE, GRACE, CREATED, status=S.LATE, last_event_on=DUES[1])
    agreement.cure(DUES[1] + timedelta(days=1))
    assert agreement.status is S.ACTIVE


def test_events_out_of_date_order_are_refused() -> None:
    agreement = make()
    agreement.advance(DUES[1])
    with pytest.raises(AgreementError):
        agreement.receive_payment(1000, DUES[0])


def test_payment_must_be_positive() -> None:
    with pytest.raises(AgreementError):
        make().receive_payment(0, CREATED)


def test_unknown_installment_number_is_refused() -> None:
    with pytest.raises(AgreementError):
        make().receive_payment(1000, CREATED, installment=9)


def test_early_payoff_is_the_present_value_at_the_plans_rate() -> None:
    agreement = make()
    agreement.receive_payment(10000, DUES[0])
    on = DUES[0] + timedelta(days=1)
    expected = sum(present_value(30000, RATE, due, on) for due in DUES[1:])
    assert agreement.payoff_amount(on) == int(expected + Decimal("0.5"))
    assert agreement.payoff_amount(on) < agreement.remaining


def test_overdue_installment_counts_at_face_value_in_the_payoff() -> None:
    agreement = make()
    agreement.receive_payment(10000, DUES[0])
    on = DUES[1] + timedelta(days=2)
    expected = 30000 + sum(present_value(30000, RATE, due, on) for due in DUES[2:])
    assert agreement.payoff_amount(on) == int(expected + Decimal("0.5"))


def test_pay_off_settles_everything_and_records_the_interest_waived() -> None:
    agreement = make()
    agreement.receive_payment(10000, DUES[0])
    on = DUES[0] + timedelta(days=3)
    due = agreement.payoff_amount(on)
    with pytest.raises(AgreementError, match="insuficiente"):
        agreement.pay_off(due - 1, on)
    receipt = agreement.pay_off(due + 100, on)
    assert agreement.status is S.PAID
    assert receipt.credit == 100
    assert sum(part for _, part in receipt.applied) == due
    waived = sum(i.waived for i in agreement.installments)
    assert waived == 90000 - due
    assert all(i.is_settled for i in agreement.installments)


events = st.lists(
    st.tuples(
        st.integers(0, 20),  # days after the previous event
        st.sampled_from(["pay", "advance", "cancel", "payoff"]),
        st.integers(1, 50000),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(events)
def test_any_sequence_of_events_keeps_the_books_straight(steps: list[tuple[int, str, int]]) -> None:
    agreement = make()
    on = CREATED
    received = 0
    for gap, kind, amount in steps:
        on += timedelta(days=gap)
        before = agreement.status
        try:
            if kind == "pay":
                agreement.receive_payment(amount, on)
                received += amount
            elif kind == "advance":
                agreement.advance(on)
            elif kind == "cancel":
                agreement.cancel(on, "teste")
            else:
                due = agreement.payoff_amount(on)
                agreement.pay_off(due, on)
                received += due
        except AgreementError:
            assert not before.is_open or kind in ("payoff", "cancel")
        for item in agreement.installments:
            assert item.paid >= 0 and item.waived >= 0
            assert item.paid + item.waived <= item.amount
        paid = sum(i.paid for i in agreement.installments)
        assert paid + agreement.credit == received
        if agreement.status is S.PAID:
            assert agreement.remaining == 0
        dates = [t.on for t in agreement.history]
        assert dates == sorted(dates)


def test_refunded_payment_reopens_a_paid_agreement() -> None:
    agreement = make((10000,))
    receipt = agreement.receive_payment(10000, DUES[0])
    assert agreement.status is S.PAID
    assert agreement.reverse_payment(receipt, DUES[0], "estorno") is S.AWAITING_FIRST_PAYMENT
    assert agreement.installments[0].paid == 0
    assert agreement.installments[0].settled_on is None
    assert agreement.history[-1].reason == "estorno"


def test_reversal_of_a_later_installment_keeps_the_agreement_active_then_late() -> None:
    agreement = make()
    agreement.receive_payment(10000, DUES[0])
    second = agreement.receive_payment(30000, DUES[1])
    assert agreement.reverse_payment(second, DUES[1], "contestação") is S.ACTIVE
    assert agreement.installments[1].paid == 0
    assert agreement.advance(DUES[1] + timedelta(days=1)) is S.LATE


def test_reversal_after_the_grace_days_breaks_an_agreement_awaiting_payment() -> None:
    agreement = make()
    first = agreement.receive_payment(10000, DUES[0])
    late = DUES[0] + timedelta(days=GRACE + 1)
    assert agreement.reverse_payment(first, late, "estorno") is S.BROKEN


def test_reversal_of_a_broken_agreement_changes_amounts_not_state() -> None:
    agreement = make()
    first = agreement.receive_payment(10000, DUES[0])
    agreement.advance(DUES[1] + timedelta(days=GRACE + 1))
    assert agreement.status is S.BROKEN
    assert agreement.reverse_payment(first, DUES[2], "estorno") is S.BROKEN
    assert agreement.installments[0].paid == 0


@settings(max_examples=150, deadline=None)
@given(
    amounts=st.lists(st.integers(1, 50000), min_size=1, max_size=4),
    payments=st.lists(st.integers(1, 80000), min_size=1, max_size=5),
)
def test_reversing_every_payment_restores_what_was_owed(
    amounts: list[int], payments: list[int]
) -> None:
    agreement = make(tuple(amounts))
    day = DUES[0]
    receipts = [agreement.receive_payment(p, day) for p in payments]
    for receipt in reversed(receipts):
        agreement.reverse_payment(receipt, day, "estorno")
    assert [i.paid for i in agreement.installments] == [0] * len(amounts)
    assert agreement.credit == 0
    assert agreement.remaining == agreement.total
    assert agreement.status is S.AWAITING_FIRST_PAYMENT
