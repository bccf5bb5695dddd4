"""Receivables reports of Brazilian ERP and billing systems import without a mapping.

One fixture per system (tests/fixtures/erp, written by ``build.py`` there): its column
names, title lines above the header, a totals line at the end, pt-BR cells. Each must
give exactly the debts it lists, refuse the lines it must (naming line, column, reason)
and skip the totals line with a warning.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from collection.imports.reading import (
    ColumnMapping,
    Field,
    ImportRow,
    RowIssue,
    Severity,
    open_import,
    preview,
)
from collection.imports.reading.columns import plan_columns
from collection.imports.reading.rows import TOTAL_ROW, is_total_row
from collection.imports.reading.values import parse_installment
from tests.unit.importing.helpers import TODAY

ERP = Path(__file__).parents[2] / "fixtures" / "erp"

D = dt.date
# file → (header line, {(contract, installment): (cpf, due date, centavos)},
#         [(line, column, reason fragment)] refused, totals line)
EXPECTED: dict[
    str,
    tuple[int, dict[tuple[str, int], tuple[str, dt.date, int]], list[tuple[int, str, str]], int],
] = {
    "protheus.csv": (
        5,
        {
            ("000123456", 1): ("11144477735", D(2026, 10, 5), 120000),
            ("000123456", 2): ("11144477735", D(2026, 11, 5), 120000),
            ("000123470", 1): ("52998224725", D(2026, 10, 10), 35075),
        },
        [(9, "CNPJ/CPF", "CNPJ")],
        10,
    ),
    "senior.xlsx": (
        4,
        {
            ("NF-88120", 1): ("39053344705", D(2026, 9, 1), 48000),
            ("NF-88120", 2): ("39053344705", D(2026, 10, 1), 48000),
            ("NF-88121", 1): ("12345678909", D(2026, 9, 3), 199990),
        },
        [(8, "Vencimento", "data inexistente")],
        9,
    ),
    "sankhya.csv": (
        2,
        {
            ("5540", 1): ("23456789092", D(2026, 10, 31), 41000),
            ("5540", 2): ("23456789092", D(2026, 11, 30), 41000),
            ("5540", 3): ("23456789092", D(2026, 12, 30), 41000),
            ("5561", 1): ("34567890175", D(2026, 11, 2), 105030),
        },
        [],
        7,
    ),
    "omie.xlsx": (
        3,
        {
            ("000987", 1): ("45678901249", D(2026, 9, 15), 33333),
            ("000987", 2): ("45678901249", D(2026, 10, 15), 33333),
            ("000987", 3): ("45678901249", D(2026, 11, 15), 33334),
        },
        [],
        7,
    ),
    "bling.csv": (
        1,
        {
            ("1201/1", 1): ("11144477735", D(2026, 10, 1), 8990),
            ("1201/2", 1): ("11144477735", D(2026, 11, 1), 8990),
            ("1202/1", 1): ("52998224725", D(2026, 10, 3), 124000),
        },
        [],
        0,
    ),
    "conta_azul.xlsx": (
        4,
        {
            ("VENDA-1045", 1): ("39053344705", D(2026, 10, 10), 25000),
            ("VENDA-1045", 2): ("39053344705", D(2026, 11, 10), 25000),
            ("VENDA-1050", 1): ("12345678909", D(2026, 10, 20), 9990),
        },
        [],
        8,
    ),
    "tiny.csv": (
        1,
        {
            ("3301", 1): ("98765432100", D(2026, 10, 5), 123456),
            ("3301", 2): ("98765432100", D(2026, 11, 5), 123456),
        },
        [],
        4,  # a line of sums only; line 5 ("Total de contas: 2") is skipped too
    ),
    "sap_b1.xlsx": (
        3,
        {
            ("71002", 1): ("23456789092", D(2026, 9, 20), 64500),
            ("71002", 2): ("23456789092", D(2026, 10, 20), 64500),
        },
        [(6, "ID fiscal", "CNPJ")],
        7,
    ),
}


def _read(name: str) -> tuple[int, list[ImportRow], list[RowIssue]]:
    with open_import(ERP / name, today=TODAY) as reader:
        items = list(reader)
        return (
            reader.header_line,
            [i for i in items if isinstance(i, ImportRow)],
            [i for i in items if isinstance(i, RowIssue)],
        )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_erp_report_imports_without_a_mapping(name):
    header_line, debts, refused, totals = EXPECTED[name]
    line, rows, issues = _read(name)
    assert line == header_line
    assert {(r.contract, r.installment): (r.cpf, r.due_date, r.amount) for r in rows} == debts
    assert all(r.name and r.name == r.name.strip() for r in rows)
    rejections = [i for i in issues if i.severity is Severity.REJECTED]
    assert [(i.line, i.field) for i in rejections] == [(n, f) for n, f, _ in refused]
    for issue, (_, _, reason) in zip(rejections, refused, strict=True):
        assert reason in issue.reason
    skipped = [i.line for i in issues if i.reason == TOTAL_ROW]
    assert skipped == ([totals, 5] if name == "tiny.csv" else [totals] if totals else [])
    assert all(i.severity is Severity.WARNING for i in issues if i.reason == TOTAL_ROW)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_portal_preview_finds_every_required_column(name):
    seen = preview(ERP / name, n=5, today=TODAY)
    assert not seen.missing and seen.header_line == EXPECTED[name][0]


def test_titles_above_the_header_are_reported_once():
    with open_import(ERP / "protheus.csv", today=TODAY) as reader:
        titles = [i for i in reader.file_warnings if "acima do cabeçalho" in i.reason]
    assert [(i.line, i.severity) for i in titles] == [(1, Severity.WARNING)]
    assert "(linha 5)" in titles[0].reason


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Título", Field.CONTRACT),
        ("Nº Doc.", Field.CONTRACT),
        ("No. Titulo", Field.CONTRACT),
        ("Nro. Nota", Field.CONTRACT),
        ("Dt. Vencto.", Field.DUE_DATE),
        ("Vencto", Field.DUE_DATE),
        ("Valor (R$)", Field.AMOUNT),
        ("Vlr. Título", Field.AMOUNT),
        ("Vlr Original", Field.AMOUNT),
        ("Saldo Devedor", Field.AMOUNT),
        ("Sacado", Field.NAME),
        ("Razão Social", Field.NAME),
        ("CNPJ/CPF", Field.CPF),
        ("Desdobramento", Field.INSTALLMENT),
    ],
)
def test_erp_headers_are_known(header, field):
    assert plan_columns([header]).indexes == {field: 0}


def test_documento_is_the_title_number_when_another_column_has_the_cpf():
    plan = plan_columns(["Documento", "Sacado", "CNPJ/CPF", "Vencto", "Valor"])
    assert plan.mapping == {
        Field.NAME: "Sacado",
        Field.CPF: "CNPJ/CPF",
        Field.CONTRACT: "Documento",
        Field.DUE_DATE: "Vencto",
        Field.AMOUNT: "Valor",
    }
    assert plan.ignored == ()
    # Alone, "Documento" is still the CPF, as in registration files.
    assert plan_columns(["Nome", "Documento", "Contrato"]).indexes[Field.CPF] == 1


def test_numero_is_the_title_number_only_when_no_contract_column_exists():
    protheus = plan_columns(["Número", "Nome", "CPF", "Vencimento", "Valor"])
    assert protheus.indexes[Field.CONTRACT] == 0 and Field.ADDRESS_NUMBER not in protheus.indexes
    address = plan_columns(["Contrato", "Endereço", "Número", "CPF", "Nome"])
    assert address.indexes[Field.ADDRESS_NUMBER] == 2 and address.indexes[Field.CONTRACT] == 0


def test_a_tenant_choice_is_never_reinterpreted():
    mapping = ColumnMapping.from_dict({"Documento": "cpf"})
    plan = plan_columns(["Documento", "CNPJ/CPF", "Nome", "Vencto", "Valor"], mapping)
    assert plan.indexes[Field.CPF] == 0 and Field.CONTRACT not in plan.indexes


def test_given_columns_override_the_saved_ones():
    saved = ColumnMapping.from_dict({"Cód": "contract", "Obs": None, "Vencto Orig": "due_date"})
    given = ColumnMapping.from_dict({"Título": "contract", "obs": "product"})
    merged = saved.overridden_by(given).lookup()
    assert merged == {
        "vencto orig".replace(" ", ""): Field.DUE_DATE,
        "titulo": Field.CONTRACT,
        "obs": Field.PRODUCT,
    }
    assert saved.overridden_by(None) is saved


@pytest.mark.parametrize(
    ("written", "number"),
    [("A", 1), ("b", 2), ("Parcela 1/3", 1), ("001/003", 1), ("2 de 3", 2), ("Parc. 3", 3)],
)
def test_installment_notations_of_billing_systems(written, number):
    assert parse_installment(written) == number


@pytest.mark.parametrize(
    ("cells", "total"),
    [
        (["Total Geral", "", "", "12.751,00"], True),
        (["", "", "TOTAL DO CLIENTE 000101", "1.200,00"], True),
        (["Totais:", "", "", ""], True),
        (["", "", "", "R$ 2.469,12"], True),
        (["", "", "", 1000.0], True),
        (["Total Comércio", "11144477735", "", "10,00"], False),  # has a CPF: a debtor
        (["", "", "C-1", "10,00"], False),  # a contract without a CPF: a bad row
        (["Observação: valores em reais", "", "", ""], False),
        (["", "", "", ""], False),
    ],
)
def test_what_counts_as_a_totals_line(cells, total):
    # keys: CPF at 1, name at 0, contract at 2
    assert is_total_row(cells, (1, 0, 2)) is total
