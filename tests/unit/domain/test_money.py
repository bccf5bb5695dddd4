from decimal import Decimal

import pytest
from babel.numbers import format_currency
from hypothesis import given, settings
from hypothesis import strategies as st

from collection.domain.money import (
    InvalidAmount,
    apply_rate,
    format_brl,
    format_rate,
    parse_brl,
    round_cents,
)

cents = st.integers(-(10**12), 10**12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,56", 123456),
        ("R$ 99,90", 9990),
        ("2405,53", 240553),
        ("R$\u00a01.234,56", 123456),
        ("1234.56", 123456),
        ("-10,00", -1000),
        ("R$ -1,5", -150),
        ("0,05", 5),
        ("1.234", 123400),
        ("1.234.567,89", 123456789),
        ("  r$ 7 ", 700),
    ],
)
def test_parse_brl_reads_pt_br_amounts(text: str, expected: int) -> None:
    assert parse_brl(text) == expected


@pytest.mark.parametrize(
    "text", ["", "R$", "abc", "1,2,3", "1,234", "1.23.4", ",", ".", "1,5.0", "²", "1 000,0x"]
)
def test_parse_brl_rejects_what_is_not_an_amount(text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_brl(text)


@settings(max_examples=300)
@given(cents)
def test_format_brl_matches_babel_pt_br(value: int) -> None:
    expected = format_currency(Decimal(value) / 100, "BRL", locale="pt_BR")
    assert format_brl(value) == expected


@settings(max_examples=300)
@given(cents)
def test_parse_brl_reads_back_format_brl(value: int) -> None:
    assert parse_brl(format_brl(value)) == value


@settings(max_examples=300)
@given(st.integers(0, 10**12))
def test_parse_brl_reads_plain_iso_amounts(value: int) -> None:
    whole, frac = divmod(value, 100)
    assert parse_brl(f"{whole}.{frac:02d}") == value
    assert parse_brl(f"{whole},{frac:02d}") == value


def test_round_cents_rounds_half_up() -> None:
    assert round_cents(Decimal("0.5")) == 1
    assert round_cents(Decimal("2.5")) == 3
    assert round_cents(Decimal("2.4999")) == 2
    assert round_cents(Decimal("-0.5")) == -1


def test_apply_rate_rounds_half_up_to_the_centavo() -> None:
    assert apply_rate(12345, Decimal("0.02")) == 247  # 246.9
    assert apply_rate(25, Decimal("0.5")) == 13  # 12.5 goes up
    assert apply_rate(100000, Decimal(0)) == 0


def test_format_rate_is_pt_br_percentage() -> None:
    assert format_rate(Decimal("0.0199")) == "1,99%"
    assert format_rate(Decimal("0.268242")) == "26,82%"
    assert format_rate(Decimal("12.5")) == "1.250,00%"
