"""Cell parsers on the values only an XLSX can hold."""

from __future__ import annotations

import datetime as dt

import pytest

from collection.imports.reading.values import cell_text, parse_amount, parse_cpf, parse_due_date
from tests.unit.importing.helpers import ZERO_CPF

TODAY = dt.date(2026, 11, 1)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), True, dt.time(10, 0)])
def test_a_non_amount_cell_is_not_numeric(value):
    with pytest.raises(ValueError, match="valor não numérico"):
        parse_amount(value)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), -5, dt.time(10, 0), True])
def test_a_non_date_cell_is_not_a_date(value):
    with pytest.raises(ValueError):
        parse_due_date(value, TODAY)


def test_whole_numbers_from_a_sheet_are_written_without_a_decimal_point():
    assert cell_text(123456.0) == "123456"
    assert cell_text(12.5) == "12.5"
    assert cell_text(False) == "FALSO"


def test_a_cpf_typed_as_a_number_gets_its_zeros_back():
    assert parse_cpf(float(ZERO_CPF)) == ZERO_CPF
    assert parse_cpf(int(ZERO_CPF)) == ZERO_CPF


def test_an_amount_cell_with_an_integer():
    assert parse_amount(15) == 1500
