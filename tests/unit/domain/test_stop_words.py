"""Stop words are honoured whatever the case, accents or punctuation, and only as the
whole message (a sentence that merely contains "parar" is conversation)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collection.domain.stop_words import StopRule, normalise, stop_rule


@pytest.mark.parametrize(
    "text", ["PARAR", "parar", " Parar! ", "SAIR", "stop", "Stop.", "CANCELAR", "Cancelar"]
)
def test_the_opt_out_words_stop_the_channel(text: str) -> None:
    assert stop_rule(text) is StopRule.OPT_OUT


@pytest.mark.parametrize(
    "text", ["não é meu número", "NÃO É MEU NÚMERO", "Nao e meu numero!!", "Número errado"]
)
def test_not_my_number_disowns_the_contact(text: str) -> None:
    assert stop_rule(text) is StopRule.NOT_MINE


@pytest.mark.parametrize("text", ["quero parar de dever", "oi", "1", "", "pix", "parar?? não"])
def test_other_messages_are_no_stop(text: str) -> None:
    assert stop_rule(text) is None


def test_normalise_strips_accents_case_and_punctuation() -> None:
    assert normalise("  Não É,  MEU-número! ") == "nao e meu numero"


@given(st.sampled_from(["parar", "sair", "stop", "cancelar"]), st.lists(st.booleans()))
def test_case_never_changes_the_rule(word: str, upper: list[bool]) -> None:
    mixed = "".join(c.upper() if i < len(upper) and upper[i] else c for i, c in enumerate(word))
    assert stop_rule(mixed) is StopRule.OPT_OUT
