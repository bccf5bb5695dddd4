"""Builders for import test files: valid CPFs, CSV text, XLSX workbooks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import openpyxl

TODAY = dt.date(2026, 11, 1)

HEADER = "Nome;CPF;Data de Nascimento;E-mail;Celular;Contrato;Parcela;Vencimento;Valor;Produto"
GOOD_CPF = "11144477735"  # the example CPF of DOMAIN.md


def make_cpf(base: int) -> str:
    """A valid CPF from nine base digits (check digits computed)."""
    digits = [int(c) for c in f"{base:09d}"]
    for weight in (10, 11):
        total = sum(d * (weight - i) for i, d in enumerate(digits))
        digits.append(total * 10 % 11 % 10)
    return "".join(map(str, digits))


ZERO_CPF = make_cpf(12_345_678)  # starts with 0: "012345678" + check digits
OTHER_CPF = make_cpf(987_654_321)


def row(
    *,
    name: str = "Maria da Silva",
    cpf: str = GOOD_CPF,
    birth: str = "05/03/1980",
    email: str = "maria@example.com",
    phone: str = "(11) 91234-5678",
    contract: str = "CTR-1",
    installment: str = "1",
    due: str = "05/03/2024",
    amount: str = "1.234,56",
    product: str = "Cartão",
) -> str:
    """One ``;``-separated data line in the order of ``HEADER``."""
    return ";".join([name, cpf, birth, email, phone, contract, installment, due, amount, product])


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\r\n".join([header, *rows]) + "\r\n"


def write(tmp_path: Path, text: str, *, encoding: str = "utf-8", name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(
    tmp_path: Path,
    rows: Iterable[Sequence[Any]],
    *,
    name: str = "f.xlsx",
    start_row: int = 1,
    number_formats: dict[int, str] | None = None,
) -> Path:
    """A workbook whose first sheet holds ``rows`` from ``start_row`` (1-based)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for offset, values in enumerate(rows):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=start_row + offset, column=column, value=value)
            if number_formats and column in number_formats:
                cell.number_format = number_formats[column]
    path = tmp_path / name
    workbook.save(path)
    return path
