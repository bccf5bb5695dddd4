"""The guided conversation: nothing about a debt before the date-of-birth proof, the menu
after it, offers picked by number and accepted only on "SIM", a person on request."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from collection.domain.conversation import (
    PROOF_LIFETIME,
    REVEALING,
    Action,
    State,
    Step,
    after_proof,
    birth_date_in,
    next_turn,
    offers_listed,
)

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
VERIFIED = State(step=Step.MENU, verified_at=NOW)


def test_the_first_text_asks_for_the_date_of_birth_whatever_it_says() -> None:
    for text in ("oi", "1", "pix", "ofertas", "quero pagar"):
        turn = next_turn(State(), text, NOW)
        assert turn.action is Action.ASK_BIRTH_DATE
        assert turn.state.step is Step.AWAIT_BIRTH_DATE


def test_a_date_is_checked_then_the_menu_opens() -> None:
    waiting = State(step=Step.AWAIT_BIRTH_DATE)
    turn = next_turn(waiting, "31/12/1980", NOW)
    assert turn.action is Action.CHECK_BIRTH_DATE and turn.birth_date == date(1980, 12, 31)
    state = after_proof(turn.state, ok=True, locked=False, now=NOW)
    assert state.step is Step.MENU and state.verified(NOW)
    assert next_turn(state, "1", NOW).action is Action.SHOW_DEBTS
    assert next_turn(state, "Pix", NOW).action is Action.SEND_PIX


def test_a_wrong_date_asks_again_and_the_throttle_locks() -> None:
    waiting = State(step=Step.AWAIT_BIRTH_DATE)
    again = after_proof(waiting, ok=False, locked=False, now=NOW)
    assert again.step is Step.AWAIT_BIRTH_DATE and not again.verified(NOW)
    locked = after_proof(waiting, ok=False, locked=True, now=NOW)
    assert next_turn(locked, "31/12/1980", NOW).action is Action.LOCKED_OUT


def test_the_proof_lapses_after_silence() -> None:
    later = NOW + PROOF_LIFETIME
    assert next_turn(VERIFIED, "1", later).action is Action.ASK_BIRTH_DATE


def test_an_offer_is_picked_by_number_and_accepted_only_on_yes() -> None:
    turn = next_turn(VERIFIED, "ofertas", NOW)
    assert turn.action is Action.SHOW_OFFERS
    listed = offers_listed(turn.state, 3)
    assert next_turn(listed, "7", NOW).action is Action.HELP  # no offer 7
    picked = next_turn(listed, "2", NOW)
    assert picked.action is Action.CONFIRM_OFFER and picked.offer == 2
    back = next_turn(picked.state, "não", NOW)
    assert back.action is Action.SHOW_OFFERS
    accepted = next_turn(picked.state, "SIM", NOW)
    assert accepted.action is Action.ACCEPT_OFFER and accepted.offer == 2
    # A second "sim" accepts nothing more (exactly once is also the service's rule).
    assert next_turn(accepted.state, "sim", NOW).action is not Action.ACCEPT_OFFER


def test_talking_to_a_person_needs_no_proof_and_relays_what_follows() -> None:
    turn = next_turn(State(step=Step.AWAIT_BIRTH_DATE), "atendente", NOW)
    assert turn.action is Action.HAND_OVER and turn.state.step is Step.WITH_PERSON
    assert next_turn(turn.state, "meu nome é Maria", NOW).action is Action.RELAY


def test_anything_unrecognised_gets_the_help_text() -> None:
    assert next_turn(VERIFIED, "qual o sentido da vida", NOW).action is Action.HELP
    assert next_turn(VERIFIED, "oi", NOW).action is Action.SHOW_MENU


def test_birth_dates_in_the_usual_spellings() -> None:
    assert birth_date_in("01/02/1990") == date(1990, 2, 1)
    assert birth_date_in("1-2-1990") == date(1990, 2, 1)
    assert birth_date_in("01021990") == date(1990, 2, 1)
    assert birth_date_in("31/02/1990") is None
    assert birth_date_in("ontem") is None


_TEXTS = st.one_of(
    st.sampled_from(["1", "2", "3", "4", "pix", "ofertas", "sim", "oi", "01/01/1980"]),
    st.text(max_size=20),
)


@given(st.lists(_TEXTS, max_size=12), st.lists(st.booleans(), max_size=12))
def test_nothing_about_a_debt_is_shown_before_a_proof_succeeds(
    texts: list[str], outcomes: list[bool]
) -> None:
    state, proven, checks = State(), False, iter(outcomes)
    for n, text in enumerate(texts):
        now = NOW + timedelta(minutes=n)
        turn = next_turn(state, text, now)
        if not proven:
            assert turn.action not in REVEALING
        state = turn.state
        if turn.action is Action.CHECK_BIRTH_DATE:
            ok = next(checks, False)
            proven = proven or ok
            state = after_proof(state, ok=ok, locked=False, now=now)
        elif turn.action is Action.SHOW_OFFERS:
            state = offers_listed(state, 2)
