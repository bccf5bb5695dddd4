"""Boleto bar code and linha digitável with FEBRABAN's mod 10 and mod 11 check digits."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collection.domain.boleto import (
    InvalidBoleto,
    bar_code,
    barcode_of_line,
    due_factor,
    format_line,
    itf_bars,
    linha_digitavel,
    mod10,
    mod11,
    parse_line,
)

# A bank's boleto line (Itaú, R$ 100,00): every check digit computed by the bank.
BANK_LINE = "34191.09008 61207.727308 71444.640008 5 97850000010000"


def test_a_banks_own_line_passes_every_check_digit() -> None:
    read = parse_line(BANK_LINE)
    assert read.bank == "341" and read.amount == 10000 and read.factor == 9785


def test_mod10_and_mod11_by_hand() -> None:
    # Weights 2, 1, 2, 1... from the right: 9×1 + 1×2 = 11, so the DV is 9.
    assert mod10("001900000") == 9
    # 7×2 = 14 counts 1 + 4 = 5; DV 5.
    assert mod10("7") == 5
    assert mod10("0000000000") == 0
    # Weights 2..9 from the right over 43 ones: 5 × 44 + 2 + 3 + 4 = 229; 229 mod 11 = 9.
    assert mod11("1" * 43) == 2
    # Remainder 0, 1 (DV 11, 10) → 1.
    assert mod11("0" * 43) == 1


def test_the_due_date_factor_restarts_at_1000_on_2025_02_22() -> None:
    assert due_factor(date(2025, 2, 21)) == 9999
    assert due_factor(date(2025, 2, 22)) == 1000
    assert due_factor(date(2000, 7, 3)) == 1000  # the first cycle's 1000th day


@settings(deadline=None)  # a shared, busy machine: no time limit per example
@given(
    amount=st.integers(min_value=1, max_value=99_999_999_99),
    due=st.dates(min_value=date(2025, 2, 22), max_value=date(2049, 1, 1)),
    free=st.from_regex(r"[0-9]{25}", fullmatch=True),
    bank=st.from_regex(r"[0-9]{3}", fullmatch=True),
)
def test_every_line_has_47_digits_and_reads_back_to_its_bar_code(
    amount: int, due: date, free: str, bank: str
) -> None:
    code = bar_code(bank=bank, amount=amount, due=due, free_field=free)
    line = linha_digitavel(code)
    assert len(code) == 44 and len(line) == 47 and line.isdigit()
    assert barcode_of_line(format_line(line)) == code
    read = parse_line(line)
    assert (read.bank, read.amount, read.free_field) == (bank, amount, free)
    assert read.factor == due_factor(due)


def _mistyped(line: str, position: int, shift: int) -> str:
    return line[:position] + str((int(line[position]) + shift) % 10) + line[position + 1 :]


@settings(deadline=None)  # a shared, busy machine: no time limit per example
@given(
    position=st.integers(min_value=0, max_value=32),
    shift=st.integers(min_value=1, max_value=9),
    amount=st.integers(min_value=1, max_value=10**9),
)
def test_a_mistyped_digit_in_the_first_four_fields_is_always_caught(
    position: int, shift: int, amount: int
) -> None:
    """Fields 1-3 have their own mod-10 digit (it catches any single change) and field 4
    is the general digit itself."""
    line = linha_digitavel(
        bar_code(bank="999", amount=amount, due=date(2026, 12, 7), free_field="0" * 24 + "7")
    )
    with pytest.raises(InvalidBoleto):
        barcode_of_line(_mistyped(line, position, shift))


def test_a_mistyped_amount_is_caught_by_the_general_check_digit() -> None:
    """Field 5 (due factor and amount) is covered only by the mod-11 digit, which
    FEBRABAN maps to 1 for remainders 0 and 1: almost every change, not all, is caught."""
    line = linha_digitavel(
        bar_code(bank="999", amount=13848, due=date(2026, 12, 7), free_field="0" * 24 + "7")
    )
    caught = 0
    for position in range(33, 47):
        for shift in range(1, 10):
            try:
                barcode_of_line(_mistyped(line, position, shift))
            except InvalidBoleto:
                caught += 1
    assert caught >= 0.85 * 14 * 9


def test_interleaved_2_of_5_draws_start_digits_and_stop() -> None:
    bars = itf_bars("00")
    # start: two narrow bars; "0" in bars (n n w w n) → 5 bars; stop: wide then narrow.
    assert len(bars) == 2 + 5 + 2
    assert [w for _x, w in bars] == [1, 1, 1, 1, 3, 3, 1, 3, 1]
    with pytest.raises(InvalidBoleto):
        itf_bars("123")
