"""XLSX files: typed cells (dates, numbers) are understood, rows numbered as Excel shows."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from collection.imports.reading import (
    FileKind,
    FileProblem,
    ImportFileError,
    ImportRow,
    RowIssue,
    open_import,
    preview,
)
from tests.unit.importing.helpers import GOOD_CPF, HEADER, TODAY, ZERO_CPF, row, write_xlsx

HEADERS = HEADER.split(";")


def read_all(path):
    with open_import(path, today=TODAY) as reader:
        items = list(reader)
    rows = [i for i in items if isinstance(i, ImportRow)]
    issues = [i for i in items if isinstance(i, RowIssue)]
    return reader, rows, issues


def test_text_cells_read_like_csv(tmp_path):
    path = write_xlsx(tmp_path, [HEADERS, row().split(";")])
    reader, rows, issues = read_all(path)
    assert reader.kind is FileKind.XLSX
    assert reader.sheet == "Sheet"
    assert issues == []
    assert rows[0].cpf == GOOD_CPF
    assert rows[0].amount == 123456
    assert rows[0].line == 2


def test_date_cells_and_numeric_cells(tmp_path):
    values = [
        "Ana",
        int(ZERO_CPF),  # typed as a number: the leading zero is gone
        dt.date(1980, 3, 5),
        "ana@example.com",
        11912345678,
        123456,  # a numeric contract
        2,
        dt.datetime(2024, 3, 5, 14, 30),
        1234.5,
        "Cartão",
    ]
    path = write_xlsx(tmp_path, [HEADERS, values])
    _, rows, issues = read_all(path)
    assert issues == []
    (only,) = rows
    assert only.cpf == ZERO_CPF
    assert only.birth_date == dt.date(1980, 3, 5)
    assert only.due_date == dt.date(2024, 3, 5)
    assert only.amount == 123450
    assert only.contract == "123456"
    assert only.installment == 2
    assert only.phone == "+5511912345678"


def test_a_date_left_as_an_excel_serial_number_is_understood(tmp_path):
    values: list[object] = list(row().split(";"))
    values[7] = 45356  # 2024-03-05 in Excel's 1900 system, in a General-formatted cell
    path = write_xlsx(tmp_path, [HEADERS, values])
    _, rows, _ = read_all(path)
    assert rows[0].due_date == dt.date(2024, 3, 5)


def test_a_numeric_amount_with_more_than_two_decimals_is_rejected(tmp_path):
    values: list[object] = list(row().split(";"))
    values[8] = 10 / 3
    path = write_xlsx(tmp_path, [HEADERS, values])
    _, rows, issues = read_all(path)
    assert rows == []
    assert issues[0].field == "Valor"
    assert "duas casas" in issues[0].reason


def test_float_noise_of_a_sum_is_not_an_extra_decimal(tmp_path):
    values: list[object] = list(row().split(";"))
    values[8] = 0.1 + 0.2  # 0.30000000000000004
    path = write_xlsx(tmp_path, [HEADERS, values])
    _, rows, _ = read_all(path)
    assert rows[0].amount == 30


def test_line_numbers_follow_the_sheet_rows_when_the_table_starts_lower(tmp_path):
    path = write_xlsx(
        tmp_path,
        [HEADERS, row(contract="A").split(";"), [], row(contract="B", amount="-1").split(";")],
        start_row=3,
    )
    reader, rows, issues = read_all(path)
    assert reader.header_line == 3
    assert rows[0].line == 4
    assert issues[0].line == 6


def test_the_first_visible_sheet_is_read(tmp_path):
    workbook = openpyxl.Workbook()
    hidden = workbook.active
    assert hidden is not None
    hidden.title = "Oculta"
    hidden.append(["nada"])
    hidden.sheet_state = "hidden"
    data = workbook.create_sheet("Carteira")
    data.append(HEADERS)
    data.append(row().split(";"))
    path = tmp_path / "abas.xlsx"
    workbook.save(path)
    reader, rows, _ = read_all(path)
    assert reader.sheet == "Carteira"
    assert len(rows) == 1


def test_preview_of_an_xlsx(tmp_path):
    path = write_xlsx(tmp_path, [HEADERS, *(row(contract=f"C{i}").split(";") for i in range(30))])
    shown = preview(path, n=5, today=TODAY)
    assert shown.kind is FileKind.XLSX
    assert len(shown.rows) == 5
    assert shown.missing == ()


def test_an_empty_first_sheet_is_passed_over_for_the_one_with_data(tmp_path):
    workbook = openpyxl.Workbook()
    assert workbook.active is not None
    workbook.active.title = "Capa"
    data = workbook.create_sheet("Dados")
    data.append(HEADERS)
    data.append(row().split(";"))
    path = tmp_path / "capa.xlsx"
    workbook.save(path)
    reader, rows, _ = read_all(path)
    assert reader.sheet == "Dados"
    assert len(rows) == 1


def test_a_workbook_without_data_is_refused_as_empty(tmp_path):
    path = tmp_path / "vazia.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(ImportFileError) as caught:
        open_import(path, today=TODAY)
    assert caught.value.problem is FileProblem.EMPTY


def test_a_corrupted_xlsx_is_refused_as_damaged(tmp_path):
    path = write_xlsx(tmp_path, [HEADERS, row().split(";")])
    data = bytearray(path.read_bytes())
    cut = data.find(b"xl/worksheets/sheet1.xml")
    data[cut + 40 : cut + 400] = bytes(360)  # scribble over the sheet's compressed data
    path.write_bytes(bytes(data))
    with pytest.raises(ImportFileError) as caught:
        open_import(path, today=TODAY)
    assert caught.value.problem in {FileProblem.DAMAGED, FileProblem.ZIP_BOMB}
