"""The report: the summary's shape, a CSV that opens safely in a spreadsheet, bounded size."""

from __future__ import annotations

import csv
import io

from collection.imports.reading import (
    ImportReport,
    RowIssue,
    Severity,
    neutralize_formula,
    open_import,
)
from tests.unit.importing.helpers import HEADER, TODAY, csv_text, row, write


def test_the_summary_has_the_shape_the_issue_asks_for(tmp_path):
    text = csv_text(row(contract="A"), row(contract="B", amount="-1"), row(contract="C", phone="1"))
    with open_import(write(tmp_path, text), today=TODAY) as reader:
        for _ in reader.rows():
            pass
    assert reader.report.as_dict() == {
        "accepted": 2,
        "rejected": [{"line": 3, "field": "Valor", "reason": "valor negativo"}],
        "warnings": [
            {
                "line": 4,
                "field": "Celular",
                "reason": "telefone inválido; descartado (a linha foi aceita sem ele)",
            }
        ],
    }
    assert reader.report.rejected_rows == 1


def test_a_row_with_two_problems_counts_as_one_rejected_row():
    report = ImportReport()
    report.record(RowIssue(2, "CPF", "x"))
    report.record(RowIssue(2, "Valor", "y"))
    report.record(RowIssue(3, "Valor", "y"))
    assert report.rejected_total == 3
    assert report.rejected_rows == 2


def test_a_later_rejection_can_take_a_row_back_from_the_accepted():
    report = ImportReport()
    report.accepted = 5
    report.reject(4, "Contrato", "contrato já pertence a outro devedor", was_accepted=True)
    assert report.accepted == 4
    assert report.rejected == [
        {"line": 4, "field": "Contrato", "reason": "contrato já pertence a outro devedor"}
    ]


def test_the_csv_report_opens_in_excel_with_pt_br_headers():
    report = ImportReport()
    report.record(RowIssue(3, "Valor", "valor negativo"))
    report.warn(2, "E-mail", "e-mail inválido")
    data = report.to_csv_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "Linha;Tipo;Campo;Motivo"
    assert lines[1] == "2;aviso;E-mail;e-mail inválido"
    assert lines[2] == "3;rejeitada;Valor;valor negativo"


def test_formula_looking_cells_are_neutralised_in_the_csv_report():
    report = ImportReport()
    report.record(RowIssue(2, '=HYPERLINK("http://evil","clique")', "coluna não reconhecida"))
    report.record(RowIssue(3, "+cmd", "-2+3"))
    report.record(RowIssue(4, "@SUM(A1)", "\tx"))
    report.record(RowIssue(5, " =1+1", "ok"))
    parsed = list(csv.reader(io.StringIO(report.to_csv().lstrip("\ufeff")), delimiter=";"))
    cells = [cell for line in parsed[1:] for cell in line[2:]]
    assert cells == [
        '\'=HYPERLINK("http://evil","clique")',
        "coluna não reconhecida",
        "'+cmd",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "' =1+1",
        "ok",
    ]


def test_neutralize_formula_leaves_plain_text_alone():
    assert neutralize_formula("Valor") == "Valor"
    assert neutralize_formula("") == ""
    assert neutralize_formula("=1") == "'=1"


def test_an_unmapped_formula_header_from_the_file_is_neutralised_in_the_report(tmp_path):
    header = HEADER + ';=HYPERLINK("http://x","y")'
    with open_import(write(tmp_path, csv_text(row() + ";z", header=header)), today=TODAY) as r:
        list(r)
    parsed = list(csv.reader(io.StringIO(r.report.to_csv().lstrip("\ufeff")), delimiter=";"))
    assert parsed[1][2] == '\'=HYPERLINK("http://x","y")'


def test_the_report_keeps_the_first_issues_and_counts_the_rest():
    report = ImportReport(max_issues=3)
    for line in range(2, 12):
        report.record(RowIssue(line, "Valor", "valor negativo"))
        report.record(RowIssue(line, "E-mail", "e-mail inválido", Severity.WARNING))
    assert len(report.rejected) == 3
    assert len(report.warnings) == 3
    assert report.rejected_total == 10
    assert report.rejected_rows == 10
    assert report.omitted == 14
    last_line = report.to_csv().rstrip("\r\n").split("\r\n")[-1]
    assert "outros 14 problemas não foram listados" in last_line


def test_write_csv_to_a_text_stream():
    report = ImportReport()
    report.record(RowIssue(2, "CPF", "CPF inválido"))
    buffer = io.StringIO(newline="")
    report.write_csv(buffer)
    assert buffer.getvalue() == "\ufeffLinha;Tipo;Campo;Motivo\r\n2;rejeitada;CPF;CPF inválido\r\n"
