from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collection.domain import contact_rules as rules


def sp(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=rules.SAO_PAULO)


@pytest.mark.parametrize(
    ("state", "at", "allowed"),
    [
        ("SP", sp(13, 8), True),  # Tuesday 08:00
        ("SP", sp(13, 7, 59), False),
        ("SP", sp(13, 19, 59), True),
        ("SP", sp(13, 20), False),
        ("SP", sp(17, 13, 59), True),  # Saturday until 14:00
        ("SP", sp(17, 14), False),
        ("SP", sp(18, 10), False),  # Sunday
        ("RJ", sp(13, 8, 30), False),  # Rio: 09:00-19:00, business days
        ("RJ", sp(13, 18, 59), True),
        ("RJ", sp(17, 10), False),  # no Saturdays in Rio
        ("", sp(13, 8, 30), False),  # unknown state: the strictest window
        ("SP", sp(1, 10), False),  # national holiday (1 January)
        ("SP", sp(25, 10), False),  # São Paulo's anniversary is a Sunday in 2026; see below
        ("SP", datetime(2026, 7, 9, 12, tzinfo=rules.SAO_PAULO), False),  # SP state holiday
        ("RJ", datetime(2026, 4, 23, 12, tzinfo=rules.SAO_PAULO), False),  # São Jorge (RJ)
    ],
)
def test_contact_windows_follow_the_state(state: str, at: datetime, allowed: bool) -> None:
    assert rules.is_allowed(at, state) is allowed


def test_amazonas_counts_in_its_own_time_zone() -> None:
    # 08:30 in Brasília is 07:30 in Manaus: too early there (unknown window: 09:00).
    assert not rules.is_allowed(sp(13, 8, 30), "AM")
    assert rules.is_allowed(sp(13, 10, 30), "AM")


def test_a_message_due_at_night_waits_for_the_morning() -> None:
    assert rules.next_allowed(sp(13, 22), "SP") == sp(14, 8)
    assert rules.next_allowed(sp(17, 15), "SP") == sp(19, 8)  # Saturday afternoon -> Monday
    assert rules.next_allowed(sp(13, 10), "SP") == sp(13, 10)


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
    state=st.sampled_from(["SP", "RJ", "AL", "MG", "AM", ""]),
)
def test_next_allowed_is_allowed_and_never_earlier(moment: datetime, state: str) -> None:
    chosen = rules.next_allowed(moment, state)
    assert chosen >= moment
    assert rules.is_allowed(chosen, state)


def test_templates_with_threats_or_unknown_variables_are_refused() -> None:
    assert rules.check_template("Olá, {nome}. Veja em {link}.") == []
    problems = rules.check_template("Pague ou a polícia vai atrás de você, {apelido}")
    text = " ".join(p.message for p in problems)
    assert "polícia" in text and "apelido" in text
    assert rules.check_template("Última chance, {nome}!")  # false urgency
    assert rules.check_template("{nome") != []


def test_rendered_messages_carry_the_creditors_identification() -> None:
    body = rules.render(
        "Olá, {nome}.", {"nome": "Ana"}, footer="Loja Ltda., CNPJ 11.222.333/0001-81"
    )
    assert body.startswith("Olá, Ana.") and body.endswith("CNPJ 11.222.333/0001-81")
    with pytest.raises(ValueError):
        rules.render("Vergonha, {nome}", {"nome": "Ana"}, footer="x")
