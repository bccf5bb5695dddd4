"""Row validation: every rejection names the line, the column and the reason in Portuguese."""

from __future__ import annotations

import datetime as dt

import pytest

from collection.imports.reading import ImportRow, RowIssue, Severity, open_import
from tests.unit.importing.helpers import (
    GOOD_CPF,
    HEADER,
    OTHER_CPF,
    TODAY,
    ZERO_CPF,
    csv_text,
    row,
    write,
)


def outcome(tmp_path, *rows, header=HEADER):
    with open_import(write(tmp_path, csv_text(*rows, header=header)), today=TODAY) as reader:
        items = list(reader)
    return (
        [i for i in items if isinstance(i, ImportRow)],
        [i for i in items if isinstance(i, RowIssue) and i.severity is Severity.REJECTED],
        [i for i in items if isinstance(i, RowIssue) and i.severity is Severity.WARNING],
    )


def rejection(tmp_path, **fields) -> RowIssue:
    rows, rejected, _ = outcome(tmp_path, row(**fields))
    assert rows == []
    assert len(rejected) == 1, rejected
    return rejected[0]


# -- CPF -------------------------------------------------------------------------------


def test_cpf_with_wrong_check_digits_is_rejected(tmp_path):
    issue = rejection(tmp_path, cpf="111.444.777-36")
    assert issue == RowIssue(2, "CPF", "CPF inválido: dígitos verificadores não conferem")


def test_cpf_with_all_digits_equal_is_rejected(tmp_path):
    issue = rejection(tmp_path, cpf="111.111.111-11")
    assert issue.reason == "CPF inválido: todos os dígitos são iguais"


def test_cpf_with_letters_or_too_many_digits_is_rejected(tmp_path):
    assert rejection(tmp_path, cpf="abc").reason == "CPF deve ter 11 dígitos"
    assert rejection(tmp_path, cpf="111444777350").reason == "CPF deve ter 11 dígitos"


def test_a_cnpj_in_the_cpf_column_is_rejected_as_not_a_person(tmp_path):
    issue = rejection(tmp_path, cpf="11.222.333/0001-81")
    assert "CNPJ" in issue.reason


def test_cpf_whose_leading_zero_was_lost_is_restored(tmp_path):
    assert ZERO_CPF.startswith("0")
    rows, rejected, _ = outcome(tmp_path, row(cpf=ZERO_CPF.lstrip("0")))
    assert rejected == []
    assert rows[0].cpf == ZERO_CPF


@pytest.mark.parametrize("written", ["111.444.777-35", "11144477735", " 111444777-35 "])
def test_cpf_is_stored_as_eleven_digits(tmp_path, written):
    rows, _, _ = outcome(tmp_path, row(cpf=written))
    assert rows[0].cpf == GOOD_CPF


# -- required fields -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "header"),
    [
        ("name", "Nome"),
        ("cpf", "CPF"),
        ("contract", "Contrato"),
        ("due", "Vencimento"),
        ("amount", "Valor"),
    ],
)
def test_an_empty_required_field_is_rejected(tmp_path, field, header):
    issue = rejection(tmp_path, **{field: "  "})
    assert issue == RowIssue(2, header, "campo obrigatório vazio")


def test_all_problems_of_a_row_are_reported_together(tmp_path):
    rows, rejected, _ = outcome(tmp_path, row(cpf="123", due="31/02/2024", amount="abc"))
    assert rows == []
    assert [(i.field, i.line) for i in rejected] == [("CPF", 2), ("Vencimento", 2), ("Valor", 2)]


def test_optional_columns_may_be_empty(tmp_path):
    rows, rejected, warnings = outcome(
        tmp_path, row(birth="", email="", phone="", installment="", product="")
    )
    assert rejected == warnings == []
    assert rows[0].birth_date is rows[0].email is rows[0].phone is rows[0].product is None
    assert rows[0].installment == 1


def test_a_row_with_more_cells_than_the_header_is_rejected(tmp_path):
    _, rejected, _ = outcome(tmp_path, row() + ";sobrando")
    assert rejected[0].field == ""
    assert "mais colunas" in rejected[0].reason


def test_trailing_empty_cells_are_not_extra_columns(tmp_path):
    rows, rejected, _ = outcome(tmp_path, row() + ";;;")
    assert rejected == [] and len(rows) == 1


def test_a_short_row_is_read_with_the_missing_cells_empty(tmp_path):
    short = ";".join(row().split(";")[:-1])  # no product cell at all
    rows, rejected, _ = outcome(tmp_path, short)
    assert rejected == [] and rows[0].product is None


# -- dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("05/03/2024", dt.date(2024, 3, 5)),
        ("5/3/2024", dt.date(2024, 3, 5)),
        ("5/3/24", dt.date(2024, 3, 5)),
        ("05.03.2024", dt.date(2024, 3, 5)),
        ("05-03-2024", dt.date(2024, 3, 5)),
        ("2024-03-05", dt.date(2024, 3, 5)),
        ("2024-03-05 00:00:00", dt.date(2024, 3, 5)),
        ("2024-03-05T10:20:30", dt.date(2024, 3, 5)),
        ("05/03/2024 10:20", dt.date(2024, 3, 5)),
        ("05032024", dt.date(2024, 3, 5)),
        ("20240305", dt.date(2024, 3, 5)),
    ],
)
def test_due_dates_in_pt_br_and_iso_forms(tmp_path, written, expected):
    rows, _, _ = outcome(tmp_path, row(due=written))
    assert rows[0].due_date == expected


@pytest.mark.parametrize("impossible", ["31/02/2024", "29/02/2023", "00/01/2024", "12/13/2024"])
def test_an_impossible_date_is_rejected(tmp_path, impossible):
    assert rejection(tmp_path, due=impossible) == RowIssue(2, "Vencimento", "data inexistente")


def test_a_date_in_an_unknown_form_is_rejected(tmp_path):
    issue = rejection(tmp_path, due="março de 2024")
    assert issue.reason == "data em formato não reconhecido (use dd/mm/aaaa)"


def test_a_due_date_far_outside_any_debt_is_rejected(tmp_path):
    assert "fora do intervalo" in rejection(tmp_path, due="05/03/1850").reason


def test_a_birth_date_in_the_future_is_rejected(tmp_path):
    issue = rejection(tmp_path, birth="02/11/2026")  # TODAY is 2026-11-01
    assert issue == RowIssue(2, "Data de Nascimento", "data de nascimento no futuro")


def test_an_impossible_birth_date_is_rejected(tmp_path):
    assert rejection(tmp_path, birth="30/02/1980").reason == "data inexistente"


def test_two_digit_birth_years_are_never_in_the_future(tmp_path):
    rows, _, _ = outcome(tmp_path, row(birth="15/08/68", contract="A"), row(birth="1/1/05"))
    assert [r.birth_date for r in rows] == [dt.date(1968, 8, 15), dt.date(2005, 1, 1)]


# -- amounts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "cents"),
    [
        ("1.234,56", 123456),
        ("R$ 99,90", 9990),
        ("R$99,9", 9990),
        ("1234,56", 123456),
        ("1234.56", 123456),
        ("1.234.567,00", 123456700),
        ("100", 10000),
        ("0,01", 1),
    ],
)
def test_amounts_in_pt_br_and_iso_forms(tmp_path, written, cents):
    rows, _, _ = outcome(tmp_path, row(amount=written))
    assert rows[0].amount == cents


def test_a_negative_amount_is_rejected(tmp_path):
    assert rejection(tmp_path, amount="-10,00") == RowIssue(2, "Valor", "valor negativo")


def test_a_zero_amount_is_rejected(tmp_path):
    assert rejection(tmp_path, amount="0,00").reason == "valor deve ser maior que zero"


@pytest.mark.parametrize("written", ["abc", "10,00 reais", "1,2,3", "1.23,45", "(10,00)"])
def test_a_non_numeric_amount_is_rejected(tmp_path, written):
    assert rejection(tmp_path, amount=written).reason == "valor não numérico"


def test_an_amount_with_more_than_two_decimals_is_rejected(tmp_path):
    assert "duas casas" in rejection(tmp_path, amount="10,123").reason


# -- other fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "number"),
    [
        ("3", 3),
        ("03", 3),
        ("3/12", 3),
        ("3 de 12", 3),
        ("Parcela 3/12", 3),
        ("Parc. 003/012", 3),
        ("C", 3),
    ],
)
def test_installment_numbers(tmp_path, written, number):
    rows, _, _ = outcome(tmp_path, row(installment=written))
    assert rows[0].installment == number


@pytest.mark.parametrize("written", ["0", "-1", "xy", "1000", "2,5", "Parcela x"])
def test_an_invalid_installment_number_is_rejected(tmp_path, written):
    issue = rejection(tmp_path, installment=written)
    assert issue.field == "Parcela" and "parcela inválido" in issue.reason


@pytest.mark.parametrize(
    "written", ['=HYPERLINK("http://x","ok")', "+cmd|' /C calc'!A0", "@SUM(1)"]
)
def test_formula_looking_text_is_rejected(tmp_path, written):
    issue = rejection(tmp_path, name=written)
    assert issue.field == "Nome"
    assert "fórmula" in issue.reason


def test_a_formula_in_an_optional_text_column_is_rejected_too(tmp_path):
    assert "fórmula" in rejection(tmp_path, product="=1+1").reason


def test_a_dash_in_an_optional_column_means_empty(tmp_path):
    rows, _, _ = outcome(tmp_path, row(product="-"))
    assert rows[0].product is None


def test_text_longer_than_the_column_allows_is_rejected(tmp_path):
    assert "longo demais" in rejection(tmp_path, contract="C" * 65).reason


def test_control_characters_never_reach_the_database(tmp_path):
    # Past the first 64 KiB: a NUL up front makes the file look binary and is refused.
    before = [row(contract=f"C{i}") for i in range(1000)]
    rows, _, _ = outcome(tmp_path, *before, row(name="Maria\x00 da\x07Silva", product="A\x1bB"))
    assert rows[-1].name == "Maria da Silva"
    assert rows[-1].product == "A B"


def test_names_have_inner_spaces_collapsed(tmp_path):
    rows, _, _ = outcome(tmp_path, row(name="  Maria   da\u00a0Silva "))
    assert rows[0].name == "Maria da Silva"


# -- warnings: contacts are dropped, the row is kept -----------------------------------


@pytest.mark.parametrize("phone", ["123", "(11) 1234", "telefone", "+55 11 0000-0000"])
def test_a_phone_that_does_not_parse_is_dropped_with_a_warning(tmp_path, phone):
    rows, rejected, warnings = outcome(tmp_path, row(phone=phone))
    assert rejected == []
    assert rows[0].phone is None
    assert warnings == [
        RowIssue(
            2,
            "Celular",
            "telefone inválido; descartado (a linha foi aceita sem ele)",
            Severity.WARNING,
        )
    ]


@pytest.mark.parametrize("email", ["maria", "maria@", "maria@exemplo", "ma ria@x.com", "a@b..com"])
def test_an_email_that_does_not_parse_is_dropped_with_a_warning(tmp_path, email):
    rows, rejected, warnings = outcome(tmp_path, row(email=email))
    assert rejected == []
    assert rows[0].email is None
    assert warnings[0].field == "E-mail"
    assert warnings[0].severity is Severity.WARNING


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("(11) 91234-5678", "+5511912345678"),
        ("11912345678", "+5511912345678"),
        ("+55 11 91234-5678", "+5511912345678"),
        ("55 11 91234 5678", "+5511912345678"),
        ("011 91234-5678", "+5511912345678"),
        ("(21) 3333-4444", "+552133334444"),
        ("(11) 9999-8888 / (11) 91234-5678", "+5511912345678"),
        ("+351 912 345 678", "+351912345678"),
    ],
)
def test_phones_are_stored_in_e164(tmp_path, written, e164):
    rows, _, warnings = outcome(tmp_path, row(phone=written))
    assert warnings == []
    assert rows[0].phone == e164


def test_emails_keep_the_local_part_and_lower_the_domain(tmp_path):
    rows, _, _ = outcome(tmp_path, row(email=" Maria.Silva@Exemplo.COM.br "))
    assert rows[0].email == "Maria.Silva@exemplo.com.br"


def test_the_first_valid_email_of_a_list_is_kept(tmp_path):
    rows, _, warnings = outcome(tmp_path, row(email="nao tem / maria@x.com, outra@y.com"))
    assert rows[0].email == "maria@x.com"
    assert warnings == []


def test_address_fields_are_read_and_bad_uf_or_cep_only_warn(tmp_path):
    header = HEADER + ";Endereço;Número;Complemento;Bairro;Cidade;UF;CEP"
    good = row(contract="A") + ";Rua A;10;apto 2;Centro;São Paulo;sp;1310-100"
    bad = row(contract="B") + ";Rua B;;;;Recife;XX;123"
    rows, rejected, warnings = outcome(tmp_path, good, bad, header=header)
    assert rejected == []
    first, second = rows
    assert (first.address, first.address_number, first.complement, first.district) == (
        "Rua A",
        "10",
        "apto 2",
        "Centro",
    )
    assert (first.city, first.state, first.zip) == ("São Paulo", "SP", "01310100")
    assert (second.state, second.zip) == (None, None)
    assert [(w.line, w.field) for w in warnings] == [(3, "UF"), (3, "CEP")]


def test_a_state_written_in_full_becomes_its_uf(tmp_path):
    header = HEADER + ";Estado"
    rows, _, _ = outcome(tmp_path, row() + ";Rio Grande do Sul", header=header)
    assert rows[0].state == "RS"


# -- across rows -----------------------------------------------------------------------


def test_installments_of_one_contract_are_accepted(tmp_path):
    rows, rejected, _ = outcome(
        tmp_path, row(installment="1"), row(installment="2"), row(installment="3")
    )
    assert rejected == []
    assert {(r.contract, r.cpf) for r in rows} == {("CTR-1", GOOD_CPF)}


def test_a_contract_seen_with_another_cpf_is_rejected_naming_the_first_line(tmp_path):
    rows, rejected, _ = outcome(
        tmp_path,
        row(contract="C-7", installment="1"),
        row(contract="OTHER", cpf=OTHER_CPF),
        row(contract="C-7", installment="2", cpf=OTHER_CPF),
        row(contract="C-7", installment="3"),
    )
    assert [r.line for r in rows] == [2, 3, 5]
    assert rejected == [RowIssue(4, "CPF", "o contrato 'C-7' já apareceu na linha 2 com outro CPF")]


def test_a_contract_with_another_cpf_right_after_is_rejected(tmp_path):
    _, rejected, _ = outcome(tmp_path, row(installment="1"), row(installment="2", cpf=OTHER_CPF))
    assert rejected[0].line == 3 and "linha 2" in rejected[0].reason


def test_a_repeated_installment_of_a_contract_is_rejected(tmp_path):
    rows, rejected, _ = outcome(
        tmp_path,
        row(installment="1"),
        row(installment="2"),
        row(contract="X"),
        row(installment="2"),
    )
    assert [r.line for r in rows] == [2, 3, 4]
    assert rejected[0].line == 5
    assert rejected[0].field == "Parcela"
    assert "parcela 2 do contrato 'CTR-1'" in rejected[0].reason


def test_a_repeated_contract_without_an_installment_column_is_rejected(tmp_path):
    header = "Nome;CPF;Contrato;Vencimento;Valor"
    line = "Ana;11144477735;C1;05/03/2024;10,00"
    rows, rejected, _ = outcome(tmp_path, line, line, header=header)
    assert len(rows) == 1
    assert rejected[0].field == "Contrato"


def test_a_rejected_row_does_not_claim_its_contract(tmp_path):
    rows, rejected, _ = outcome(
        tmp_path,
        row(cpf=OTHER_CPF, amount="abc"),  # rejected for the amount
        row(),  # same contract, another CPF: fine, the first row never counted
    )
    assert len(rejected) == 1 and rejected[0].field == "Valor"
    assert rows[0].cpf == GOOD_CPF


def test_installments_above_64_are_still_checked_for_repeats(tmp_path):
    rows, rejected, _ = outcome(
        tmp_path, row(installment="100"), row(installment="64"), row(installment="100")
    )
    assert len(rows) == 2
    assert rejected[0].line == 4
