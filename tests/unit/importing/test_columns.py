"""Headers are recognised in their common Portuguese forms; a tenant mapping fills the rest."""

from __future__ import annotations

import pytest

from collection.imports.reading import (
    ColumnMapping,
    Field,
    FileProblem,
    MissingColumnsError,
    Severity,
    normalize_header,
    open_import,
    preview,
)
from collection.imports.reading.columns import plan_columns
from tests.unit.importing.helpers import TODAY, csv_text, row, write


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("NOME DO CLIENTE", Field.NAME),
        ("Devedor", Field.NAME),
        ("cpf/cnpj", Field.CPF),
        ("Documento", Field.CPF),
        ("Dt. Nasc.", Field.BIRTH_DATE),
        ("Data Nascimento", Field.BIRTH_DATE),
        ("E-mail", Field.EMAIL),
        ("EMAIL", Field.EMAIL),
        ("WhatsApp", Field.PHONE),
        ("Fone", Field.PHONE),
        ("Nº Contrato", Field.CONTRACT),
        ("número_do_contrato", Field.CONTRACT),
        ("N° Parcela", Field.INSTALLMENT),
        ("Data de Vencimento", Field.DUE_DATE),
        ("  VENCIMENTO ", Field.DUE_DATE),
        ("Valor Original", Field.AMOUNT),
        ("Valor da Parcela", Field.AMOUNT),
        ("Saldo", Field.AMOUNT),
        ("Produto", Field.PRODUCT),
        ("Logradouro", Field.ADDRESS),
        ("Município", Field.CITY),
        ("UF", Field.STATE),
        ("CEP", Field.ZIP),
    ],
)
def test_common_headers_are_recognised_ignoring_case_accents_and_punctuation(header, field):
    plan = plan_columns([header])
    assert plan.indexes == {field: 0}


def test_normalized_headers_drop_connectives():
    assert normalize_header("Data de Vencimento") == normalize_header("DATA_VENCIMENTO")
    assert normalize_header("Nº do Contrato") == "nocontrato"


def test_the_preferred_synonym_wins_and_the_other_column_is_ignored_with_a_reason():
    plan = plan_columns(["Saldo", "Valor Original", "Telefone", "Celular"])
    assert plan.indexes[Field.AMOUNT] == 1
    assert plan.indexes[Field.PHONE] == 3
    reasons = dict(plan.ignored)
    assert "Valor Original" in reasons[0]
    assert "Celular" in reasons[2]


def test_a_repeated_header_keeps_the_leftmost_column():
    plan = plan_columns(["Valor", "Valor"])
    assert plan.indexes[Field.AMOUNT] == 0
    assert [index for index, _ in plan.ignored] == [1]


def test_unknown_columns_are_ignored_and_reported_once_as_warnings(tmp_path):
    header = "Nome;CPF;Contrato;Vencimento;Valor;Observação;Dias em atraso"
    text = csv_text("Ana;11144477735;C1;05/03/2024;10,00;ligar à tarde;30", header=header)
    with open_import(write(tmp_path, text), today=TODAY) as reader:
        rows = list(reader.rows())
    assert len(rows) == 1
    warnings = reader.report.warnings
    assert [w["field"] for w in warnings] == ["Observação", "Dias em atraso"]
    assert all(w["line"] == 1 for w in warnings)
    assert all(issue.severity is Severity.WARNING for issue in reader.file_warnings)


def test_a_tenant_mapping_names_columns_the_synonyms_do_not_know(tmp_path):
    header = "Cliente;Doc. Devedor;Cod. Operação;Data Limite;Montante"
    text = csv_text("Ana;111.444.777-35;OP-9;05/03/2024;99,90", header=header)
    mapping = {
        "Doc. Devedor": "cpf",
        "cod operacao": "contract",  # compared normalised, like the built-in synonyms
        "Data Limite": "due_date",
        "MONTANTE": "amount",
    }
    with open_import(write(tmp_path, text), mapping=mapping, today=TODAY) as reader:
        rows = list(reader.rows())
    assert reader.mapping == {
        Field.NAME: "Cliente",
        Field.CPF: "Doc. Devedor",
        Field.CONTRACT: "Cod. Operação",
        Field.DUE_DATE: "Data Limite",
        Field.AMOUNT: "Montante",
    }
    assert rows[0].contract == "OP-9"
    assert rows[0].amount == 9990


def test_a_tenant_mapping_overrides_and_silences_built_in_matches(tmp_path):
    header = "Nome;CPF;Contrato;Vencimento;Valor;Saldo Atual"
    text = csv_text("Ana;11144477735;C1;05/03/2024;1,00;250,00", header=header)
    mapping = ColumnMapping.from_dict({"Saldo Atual": "amount", "Valor": None})
    with open_import(write(tmp_path, text), mapping=mapping, today=TODAY) as reader:
        rows = list(reader.rows())
    assert rows[0].amount == 25000
    assert reader.report.warnings == []  # a column the tenant silenced is not a warning


def test_column_mapping_round_trips_through_json_data():
    data = {"Doc": "cpf", "Obs": None}
    assert ColumnMapping.from_dict(data).to_dict() == data


def test_column_mapping_rejects_an_unknown_field():
    with pytest.raises(ValueError, match="campo desconhecido"):
        ColumnMapping.from_dict({"Doc": "rg"})


def test_missing_cpf_and_amount_columns_are_named_with_the_headers_found(tmp_path):
    text = csv_text("Ana;C1;05/03/2024", header="Nome;Contrato;Vencimento")
    with pytest.raises(MissingColumnsError) as caught:
        open_import(write(tmp_path, text), today=TODAY)
    error = caught.value
    assert error.problem is FileProblem.MISSING_COLUMNS
    assert error.missing == ("cpf", "amount")
    assert error.headers == ("Nome", "Contrato", "Vencimento")
    assert "CPF" in error.message and "valor" in error.message
    assert "'Nome', 'Contrato', 'Vencimento'" in error.message


def test_every_required_column_is_checked(tmp_path):
    text = csv_text("Ana;11144477735;10,00", header="Nome;CPF;Valor")
    with pytest.raises(MissingColumnsError) as caught:
        open_import(write(tmp_path, text), today=TODAY)
    assert caught.value.missing == ("contract", "due_date")


def test_preview_shows_headers_and_missing_fields_instead_of_refusing(tmp_path):
    text = csv_text("Ana;111.444.777-35;C1;05/03/2024;10,00", header="Nome;Doc X;Contrato;Venc;Vl")
    shown = preview(write(tmp_path, text), today=TODAY)
    assert shown.headers == ("Nome", "Doc X", "Contrato", "Venc", "Vl")
    assert shown.missing == (Field.CPF, Field.AMOUNT)
    assert shown.mapping == {Field.NAME: "Nome", Field.CONTRACT: "Contrato", Field.DUE_DATE: "Venc"}
    assert shown.rows == []
    remapped = preview(write(tmp_path, text), mapping={"Doc X": "cpf", "Vl": "amount"}, today=TODAY)
    assert remapped.missing == ()
    assert remapped.rows[0].amount == 1000


def test_preview_validates_only_the_first_rows(tmp_path):
    text = csv_text(*(row(contract=f"C{i}") for i in range(50)), row(contract="X", amount="x"))
    shown = preview(write(tmp_path, text), n=3, today=TODAY)
    assert [r.line for r in shown.rows] == [2, 3, 4]
    assert shown.issues == []
    assert shown.delimiter == ";"
